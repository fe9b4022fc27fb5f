from __future__ import annotations

import base64

import pytest

from data_plane.runtime.sessions import SessionClaims, SessionSealer, token_fingerprint
from tests.data_plane.kit import KeyPair

# Values long enough that a random base64 token cannot contain them by chance (a 2-letter slug can).
CLAIMS = SessionClaims("payroll-server", "0f3c9a7e5b2d4c1a8e6f", "key-wide-0001", "2025-11-25", 1_760_000_000)


def test_a_sealed_session_id_opens_to_the_same_claims(keys: KeyPair) -> None:
    sealer = SessionSealer.from_group_key(keys.group)
    assert sealer.open(sealer.seal(CLAIMS)) == CLAIMS


def test_every_data_plane_of_the_group_derives_the_same_sealing_key(keys: KeyPair) -> None:
    token = SessionSealer.from_group_key(keys.group).seal(CLAIMS)
    assert SessionSealer.from_group_key(keys.group).open(token) == CLAIMS


def test_another_groups_key_cannot_open_a_session_id(keys: KeyPair) -> None:
    token = SessionSealer.from_group_key(keys.group).seal(CLAIMS)
    assert SessionSealer.from_group_key(KeyPair().group).open(token) is None


def test_a_session_id_shows_nothing_in_clear_and_differs_every_time(keys: KeyPair) -> None:
    sealer = SessionSealer.from_group_key(keys.group)
    first, second = sealer.seal(CLAIMS), sealer.seal(CLAIMS)
    assert first != second
    decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    for secret in (CLAIMS.upstream_session_id, CLAIMS.key_id, CLAIMS.server):
        assert secret not in first and secret.encode() not in decoded
    assert all(0x21 <= ord(c) <= 0x7E for c in first), "a valid Mcp-Session-Id is visible ASCII"


def test_every_flipped_character_makes_the_session_id_unknown(keys: KeyPair) -> None:
    sealer = SessionSealer.from_group_key(keys.group)
    token = sealer.seal(CLAIMS)
    for index in range(len(token)):
        flipped = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        assert sealer.open(flipped) is None, index


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "not base64 !", "é" * 40, "A" * 5000, base64.urlsafe_b64encode(b"\x02" + b"0" * 40).decode()],
)
def test_garbage_never_opens_and_never_raises(keys: KeyPair, garbage: str) -> None:
    assert SessionSealer.from_group_key(keys.group).open(garbage) is None


def test_a_key_without_its_private_half_cannot_seal(keys: KeyPair) -> None:
    with pytest.raises(ValueError, match="private"):
        SessionSealer.from_group_key(keys.group_public)


def test_the_fingerprint_is_short_and_stable_and_not_the_token(keys: KeyPair) -> None:
    token = SessionSealer.from_group_key(keys.group).seal(CLAIMS)
    assert token_fingerprint(token) == token_fingerprint(token)
    assert len(token_fingerprint(token)) == 12 and token_fingerprint(token) not in token
