from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from data_plane.snapshot.store import SnapshotStore
from shared.snapshot import SnapshotRejected
from tests.data_plane.kit import UPSTREAM_SECRET, KeyPair, make_snapshot, sign


def _store(keys: KeyPair, tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(
        verify_key=keys.verify,
        group_key=keys.group,
        group="default",
        last_good_file=tmp_path / "last-good.jws",
    )


def _tamper(jws: str) -> str:
    header, payload, signature = jws.split(".")
    document = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["servers"]["py"]["url"] = "http://127.0.0.1:9/evil"
    forged = base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_good_snapshot_is_applied_unsealed_and_persisted_signed(keys: KeyPair, tmp_path: Path) -> None:
    store = _store(keys, tmp_path)
    snapshot = make_snapshot(keys, version="1", headers={"X-Api-Key": UPSTREAM_SECRET})
    jws = sign(snapshot, keys)
    applied = await store.apply(jws, version="1", hash=snapshot.hash)
    assert (applied.version, applied.hash, applied.changed) == ("1", snapshot.hash, True)
    assert store.current is not None and store.source == "control-plane"
    assert store.current.servers["py"].injected_headers == (("X-Api-Key", UPSTREAM_SECRET),)
    on_disk = (tmp_path / "last-good.jws").read_text()
    assert on_disk == jws
    assert UPSTREAM_SECRET not in on_disk


@pytest.mark.parametrize("bad", ["wrong key", "tampered", "garbage", "cannot unseal", "other group"])
async def test_refused_snapshot_keeps_the_old_one_and_the_disk_untouched(
    keys: KeyPair, tmp_path: Path, bad: str
) -> None:
    store = _store(keys, tmp_path)
    good = sign(make_snapshot(keys, version="1"), keys)
    await store.apply(good)
    before = store.current
    newer = make_snapshot(keys, version="2")
    if bad == "wrong key":
        jws = sign(newer, KeyPair())
    elif bad == "tampered":
        jws = _tamper(sign(newer, keys))
    elif bad == "garbage":
        jws = "not.a.jws"
    elif bad == "cannot unseal":
        jws = sign(make_snapshot(KeyPair(), version="2", headers={"X-Api-Key": "x"}), keys)
    else:
        jws = sign(newer.model_copy(update={"group": "elsewhere"}), keys)
    with pytest.raises(SnapshotRejected) as refused:
        await store.apply(jws, version="2")
    assert refused.value.reason
    assert store.current is before and store.version == "1"
    assert (tmp_path / "last-good.jws").read_text() == good


async def test_wrong_signature_is_refused_with_a_reason_about_the_signature(
    keys: KeyPair, tmp_path: Path
) -> None:
    store = _store(keys, tmp_path)
    with pytest.raises(SnapshotRejected) as refused:
        await store.apply(sign(make_snapshot(keys), KeyPair()))
    assert "signature" in refused.value.reason


async def test_identical_version_and_hash_is_not_applied_again(keys: KeyPair, tmp_path: Path) -> None:
    store = _store(keys, tmp_path)
    snapshot = make_snapshot(keys, version="1")
    jws = sign(snapshot, keys)
    await store.apply(jws, version="1", hash=snapshot.hash)
    first = store.current
    again = await store.apply(jws, version="1", hash=snapshot.hash)
    assert not again.changed and store.current is first


async def test_boot_from_disk_verifies_again_and_reports_disk_as_source(
    keys: KeyPair, tmp_path: Path
) -> None:
    first = _store(keys, tmp_path)
    await first.apply(sign(make_snapshot(keys, version="5"), keys))
    rebooted = _store(keys, tmp_path)
    assert await rebooted.load_file(tmp_path / "last-good.jws", source="disk")
    assert rebooted.version == "5" and rebooted.source == "disk"


async def test_boot_from_a_file_signed_by_someone_else_serves_nothing(keys: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "exported.jws"
    path.write_text(sign(make_snapshot(keys), KeyPair()))
    store = _store(keys, tmp_path)
    assert not await store.load_file(path, source="file")
    assert store.current is None


async def test_boot_without_a_last_good_file_serves_nothing(keys: KeyPair, tmp_path: Path) -> None:
    store = _store(keys, tmp_path)
    assert not await store.load_file(tmp_path / "missing.jws", source="disk")
    assert store.current is None
