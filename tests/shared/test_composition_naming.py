"""Names on a virtual server: namespaced, collision-free, within what clients accept."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.composition import (
    MAX_NAME_LENGTH,
    default_prefix,
    exposed_name,
    is_plain_name,
    is_shortened,
    prefix_problem,
    rename_problem,
    split_exposed,
)
from shared.snapshot import ServerEntry, Snapshot, VirtualServerEntry, snapshot_document


def test_a_short_plain_name_gets_the_member_prefix() -> None:
    assert exposed_name("github", "search_code") == "github__search_code"
    assert split_exposed("github__search_code") == ("github", "search_code")
    assert not is_shortened("github__search_code")


def test_a_name_too_long_for_clients_is_shortened_to_64_characters_with_a_hash() -> None:
    long = "x" * 80
    shortened = exposed_name("github", long)
    assert len(shortened) == MAX_NAME_LENGTH and is_plain_name(shortened)
    assert shortened.startswith("github__xxx") and is_shortened(shortened)
    assert exposed_name("github", long) == shortened, "deterministic"
    assert exposed_name("github", long + "y") != shortened, "different originals never share a name"
    assert exposed_name("gitlab", long) != shortened


@pytest.mark.parametrize("name", ["read.file", "emoji✓", "with space"])
def test_characters_clients_refuse_are_replaced_and_the_name_disambiguated(name: str) -> None:
    shown = exposed_name("fs", name)
    assert is_plain_name(shown) and is_shortened(shown)
    assert shown != exposed_name("fs", "".join(c if c.isascii() and c.isalnum() else "_" for c in name))


def test_a_plain_name_that_looks_shortened_is_hashed_so_lookups_stay_unambiguous() -> None:
    assert is_shortened(exposed_name("fs", "get-deadbeef"))


def test_the_first_separator_always_ends_the_prefix() -> None:
    # Prefixes never hold "_", so "a__b__c" is prefix "a", tool "b__c"; no other split exists.
    assert split_exposed(exposed_name("a", "b__c")) == ("a", "b__c")
    assert split_exposed("no-separator") is None


def test_long_slugs_get_a_short_deterministic_prefix() -> None:
    slug = "a-very-long-server-slug-that-goes-on-and-on"
    prefix = default_prefix(slug)
    assert len(prefix) <= 24 and prefix_problem(prefix) is None
    assert prefix == default_prefix(slug) and prefix != default_prefix(slug + "x")
    assert default_prefix("github") == "github"


@pytest.mark.parametrize("new_name", ["", "has__separator", "x" * 65, "dotted.name"])
def test_renames_that_could_collide_or_break_clients_are_refused(new_name: str) -> None:
    assert rename_problem(new_name) is not None


def test_a_plain_rename_is_accepted() -> None:
    assert rename_problem("find_code") is None


def test_a_snapshot_without_virtual_servers_signs_as_before_and_one_with_a_clashing_slug_is_refused() -> None:
    base = Snapshot(version="1", hash="", group="g", created_at=0)
    assert "virtual_servers" not in snapshot_document(base), "older data planes accept it unchanged"
    with pytest.raises(ValidationError, match="slug of a server"):
        Snapshot(
            version="1",
            hash="",
            group="g",
            created_at=0,
            servers={"py": ServerEntry(id="s", workspace="w", url="http://x/mcp")},
            virtual_servers={"py": VirtualServerEntry(id="v", workspace="w")},
        )
