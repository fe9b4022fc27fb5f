"""The control plane's decision preview and the data plane's enforcement agree, for random rules.

Hypothesis draws rule sets (subjects, effects, tool / prompt / resource selections with
wildcards, tool annotations, claim conditions). Each set is written through the control plane's
repositories, compiled and signed as for a push, loaded by the data plane's snapshot compiler,
and then every (key, item) pair is decided twice: by the data plane's stage chain (parse ->
authenticate -> route -> authorize) and by the preview. Both must give the same verdict and name
the same rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from joserfc.jwk import OKPKey
from sqlmodel import delete, select

from control_plane.compiler import compile_group
from control_plane.compiler.preview import decide
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.models import AgentKey, DataPlaneGroup, Grant, Server, User, Workspace
from control_plane.models.grant import GrantCreate
from control_plane.models.preview import KeyCaller, PreviewRequest
from control_plane.models.team import TeamCreate
from control_plane.models.user import UserCreate
from control_plane.repos import grants, members, teams, users
from data_plane.pipeline.context import RequestContext
from data_plane.snapshot.compile import compile_snapshot
from data_plane.stages.authenticate import authenticate
from data_plane.stages.authorize import authorize
from data_plane.stages.parse import parse
from data_plane.stages.route import route
from shared import keyfiles
from tests.control_plane.snapshot_rows import add_group, add_key, add_server, add_workspace, new_secret_box
from tests.data_plane.kit import bearer, context

TOOLS = {
    "read_a": {"readOnlyHint": True},
    "write_b": {"destructiveHint": True},
    "plain_c": {},
    "idem_d": {"readOnlyHint": True, "idempotentHint": True, "destructiveHint": False},
}
ITEMS = [("tool", name) for name in [*TOOLS, "undiscovered"]] + [
    ("prompt", "greet"),
    ("prompt", "other"),
    ("resource", "file:///docs/a.md"),
    ("resource", "db://orders"),
]
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
"""No shrinking: one example costs a compile, and the failure message already names the rules."""
NAME_PATTERNS = [*TOOLS, "read_*", "*_c", "*", "greet", "file:///docs/*", "db://*"]


@dataclass
class World:
    db: Database
    box: SecretBox
    group: DataPlaneGroup
    group_key: OKPKey
    signing: OKPKey
    server: Server
    keys: dict[str, tuple[AgentKey, str]]
    subjects: list[tuple[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("agreement") / "cp.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    box = new_secret_box()
    add_workspace(db, "demo")
    server = add_server(db, slug="py", workspace="demo", box=box, tools=TOOLS)
    add_server(db, slug="other", workspace="demo", box=box)
    group, group_key = add_group(db, "default")
    with db.transaction() as session:
        demo = session.exec(select(Workspace).where(Workspace.slug == "demo")).one()
        for name, disabled in (("alice", False), ("bob", False), ("dana", True)):
            users.create(session, data=UserCreate(email=f"{name}@demo.test", disabled=disabled))
            members.add(session, workspace=demo, user_ref=f"{name}@demo.test", role="member")
        team = teams.create(session, data=TeamCreate(workspace="demo", slug="eng", claim_values=["eng"]))
        teams.add_member(session, team=team, user_ref="alice@demo.test")
        owner = {u.email: u.id for u in session.exec(select(User))}
        team_id = team.id
    keys = {
        "ws-scoped": add_key(db, name="ws-scoped", workspace="demo", tools={"py": ["read_a", "plain_c"]}),
        "ws-open": add_key(db, name="ws-open", workspace="demo"),
        "ws-other": add_key(db, name="ws-other", workspace="demo", servers=["other"]),
    }
    for name, email, tools in (
        ("alice-open", "alice@demo.test", None),
        ("bob-scoped", "bob@demo.test", {"py": ["write_b", "read_a"]}),
        ("dana-open", "dana@demo.test", None),
    ):
        row, secret = add_key(db, name=name, workspace="demo", tools=tools)
        with db.transaction() as session:
            stored = session.get(AgentKey, row.id)
            assert stored is not None
            stored.owner_user_id = owner[email]
            session.flush()
            session.refresh(stored)
            session.expunge(stored)
        keys[name] = (stored, secret)
    subjects = [
        ("agent", keys["ws-scoped"][0].id),
        ("agent", keys["ws-open"][0].id),
        ("agent", keys["bob-scoped"][0].id),
        ("user", "alice@demo.test"),
        ("user", "bob@demo.test"),
        ("user", "dana@demo.test"),
        ("team", team_id),
        ("workspace", "demo"),
    ]
    yield World(db, box, group, group_key, keyfiles.generate("Ed25519"), server, keys, subjects)
    db.dispose()


def selections() -> st.SearchStrategy[dict[str, Any]]:
    include = st.one_of(st.none(), st.lists(st.sampled_from(NAME_PATTERNS), max_size=3, unique=True))
    exclude = st.lists(st.sampled_from(NAME_PATTERNS), max_size=2, unique=True)
    return st.one_of(st.just({}), st.builds(lambda i, e: {"include": i, "exclude": e}, include, exclude))


CONDITIONS = [
    {"claim": "email", "op": "equals", "value": "alice@demo.test"},
    {"claim": "email", "op": "in", "value": ["bob@demo.test", "dana@demo.test"]},
    {"claim": "groups", "op": "contains", "value": "eng"},
    {"claim": "sub", "op": "present"},
]


@st.composite
def rule_sets(draw: st.DrawFn, subjects: list[tuple[str, str]]) -> list[dict[str, Any]]:
    drawn = []
    for index in range(draw(st.integers(min_value=0, max_value=6))):
        kind, ref = draw(st.sampled_from(subjects))
        drawn.append(
            {
                "name": f"g{index}",
                "server": "py",
                "subject": {"kind": kind, "id": ref},
                "effect": draw(st.sampled_from(["allow", "allow", "deny"])),
                "tools": draw(selections()),
                "annotations": draw(
                    st.dictionaries(
                        st.sampled_from(
                            ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]
                        ),
                        st.booleans(),
                        max_size=2,
                    )
                ),
                "prompts": draw(selections()),
                "resources": draw(selections()),
                "conditions": draw(st.lists(st.sampled_from(CONDITIONS), max_size=1)),
            }
        )
    return drawn


def rpc(kind: str, name: str) -> bytes:
    method, params = {
        "tool": ("tools/call", {"name": name, "arguments": {}}),
        "prompt": ("prompts/get", {"name": name}),
        "resource": ("resources/read", {"uri": name}),
    }[kind]
    return orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})


def enforced(snapshot: Any, secret: str, kind: str, name: str) -> tuple[bool, str]:
    ctx: Any = context(snapshot, body=rpc(kind, name), slug="py", headers=bearer(secret))
    for stage in (parse, authenticate, route, authorize):
        ctx = stage(ctx)
        if not isinstance(ctx, RequestContext):
            return False, ctx.rule
    return True, ctx.rule


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES)
@given(data=st.data())
def test_the_preview_and_the_data_plane_decide_alike(world: World, data: st.DataObject) -> None:
    drawn = data.draw(rule_sets(world.subjects))
    now = datetime.now(UTC)
    with world.db.transaction() as session:
        session.exec(delete(Grant))  # type: ignore[call-overload]
        for grant in drawn:
            grants.create(session, data=GrantCreate.model_validate(grant))
    with world.db.session() as session:
        snapshot = compile_group(session, group=world.group, secrets=world.box, now=now).snapshot
        served = compile_snapshot(snapshot, world.group_key)
        for label, (key, secret) in world.keys.items():
            for kind, name in ITEMS:
                request = PreviewRequest(caller=KeyCaller(kind="key", id=key.id), server="py", **{kind: name})
                previewed = decide(session, request=request, server=world.server, key=key, now=now)
                verdict = enforced(served, secret, kind, name)
                assert (previewed.allowed, previewed.rule) == verdict, (label, kind, name, drawn)
