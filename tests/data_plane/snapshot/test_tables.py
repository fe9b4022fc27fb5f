"""Large snapshots: compiled by a helper process into tables, entries compiled on first use."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_plane.snapshot.store import SnapshotStore
from shared.access import AccessSection, Grant, Selection
from shared.apikeys import hash_secret
from shared.snapshot import SnapshotRejected, ToolEntry, with_content_hash
from shared.snapshot.virtual import VirtualMember, VirtualServerEntry
from tests.data_plane.kit import NARROW, UPSTREAM_SECRET, WIDE, KeyPair, make_snapshot, sign
from tests.data_plane.stdio_kit import stdio_snapshot


def _store(keys: KeyPair, tmp_path: Path, *, tables: bool, group_key: bool = True) -> SnapshotStore:
    return SnapshotStore(
        verify_key=keys.verify,
        group_key=keys.group if group_key else None,
        group="default",
        last_good_file=tmp_path / "last-good.jws",
        tables_dir=tmp_path / "tables",
        large_snapshot_bytes=1 if tables else 0,
    )


def _files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "tables").glob("*"))


ACCESS = AccessSection(
    grants=[
        Grant(
            id="g1",
            name="narrow-deny",
            subject="agent:k-wide",
            server="py",
            effect="deny",
            tools=Selection(include=["danger"]),
        ),
        Grant(
            id="g2",
            name="readers",
            subject="workspace:demo",
            server="other",
            annotations={"readOnlyHint": True},
        ),
    ]
)
TOOLS = {"echo": ToolEntry(), "danger": ToolEntry(annotations={"destructiveHint": True})}


async def test_a_large_snapshot_is_served_from_tables_with_the_same_answers_as_in_memory(
    keys: KeyPair, tmp_path: Path
) -> None:
    snapshot = make_snapshot(keys, headers={"X-Api-Key": UPSTREAM_SECRET}, access=ACCESS, tools=TOOLS)
    jws = sign(snapshot, keys)
    memory = _store(keys, tmp_path / "m", tables=False)
    tables = _store(keys, tmp_path / "t", tables=True)
    await memory.apply(jws)
    await tables.apply(jws)
    a, b = memory.current, tables.current
    assert a is not None and b is not None
    assert a.tables is None and b.tables is not None and b.tables.exists()
    assert UPSTREAM_SECRET.encode() not in b.tables.read_bytes()  # sealed on disk, as in the JWS
    for secret in (WIDE, NARROW, "mcpgw_unknown"):
        pa, pb = a.keys.get(hash_secret(secret)), b.keys.get(hash_secret(secret))
        assert pa == pb
    for slug in ("py", "other", "missing"):
        assert (slug in a.servers) == (slug in b.servers)
        assert a.servers.get(slug) == b.servers.get(slug)
    wide = a.keys[hash_secret(WIDE)].caller
    assert wide is not None
    for slug in ("py", "other"):
        va, vb = a.access.view(wide, slug), b.access.view(wide, slug)
        assert va.server_decision() == vb.server_decision()
        for tool in ("echo", "danger", "nope"):
            assert va.decide("tool", tool) == vb.decide("tool", tool)
    assert b.access.view(wide, "py").decide("tool", "danger").rule == "grant:narrow-deny"


async def test_virtual_servers_of_a_large_snapshot_compile_over_its_tables(
    keys: KeyPair, tmp_path: Path
) -> None:
    virtual = VirtualServerEntry(
        id="v1",
        workspace="demo",
        members=[VirtualMember(server="py", prefix="py"), VirtualMember(server="other", prefix="other")],
    )
    snapshot = with_content_hash(
        make_snapshot(keys).model_copy(update={"virtual_servers": {"both": virtual}})
    )
    store = _store(keys, tmp_path, tables=True)
    await store.apply(sign(snapshot, keys))
    assert store.current is not None and store.current.tables is not None
    compiled = store.current.virtual_servers["both"]
    assert [m.upstream.slug for m in compiled.members] == ["py", "other"]


async def test_the_previous_tables_are_removed_when_a_new_snapshot_is_swapped_in(
    keys: KeyPair, tmp_path: Path
) -> None:
    store = _store(keys, tmp_path, tables=True)
    await store.apply(sign(make_snapshot(keys, version="1"), keys))
    first = store.current
    assert first is not None and _files(tmp_path) == [first.tables]
    await store.apply(sign(make_snapshot(keys, version="2"), keys))
    assert store.current is not None and store.current.tables != first.tables
    assert _files(tmp_path) == [store.current.tables]
    # a request still holding the old snapshot keeps reading its (unlinked) file
    assert first.keys.get(hash_secret(NARROW)) is not None


@pytest.mark.parametrize("bad", ["cannot unseal", "other group", "stdio not allowed", "no group key"])
async def test_a_large_snapshot_is_refused_for_the_same_reason_and_leaves_no_file(
    keys: KeyPair, tmp_path: Path, bad: str
) -> None:
    if bad == "cannot unseal":
        jws = sign(make_snapshot(KeyPair(), headers={"X-Api-Key": "x"}), keys)
    elif bad == "other group":
        jws = sign(make_snapshot(keys).model_copy(update={"group": "elsewhere"}), keys)
    elif bad == "stdio not allowed":
        jws = sign(stdio_snapshot(keys), keys)
    else:
        jws = sign(make_snapshot(keys, headers={"X-Api-Key": "x"}), keys)
    reasons = []
    for tables in (False, True):
        store = _store(keys, tmp_path / str(tables), tables=tables, group_key=bad != "no group key")
        with pytest.raises(SnapshotRejected) as refused:
            await store.apply(jws)
        assert store.current is None
        reasons.append(refused.value.reason)
    assert reasons[0] == reasons[1]
    assert _files(tmp_path / "True") == []


async def test_tables_left_by_an_earlier_run_are_removed_at_start(keys: KeyPair, tmp_path: Path) -> None:
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "stale.sqlite").write_bytes(b"left over")
    _store(keys, tmp_path, tables=True)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("tables", [False, True], ids=["in-memory", "tables"])
async def test_sse_servers_are_handed_to_the_host_at_once_in_both_modes(
    keys: KeyPair, tmp_path: Path, tables: bool
) -> None:
    store = _store(keys, tmp_path, tables=tables)
    await store.apply(sign(make_snapshot(keys, transport="sse"), keys))
    assert store.current is not None
    assert list(store.current.hosted) == ["py"]
    assert store.current.hosted["py"].sse is not None
