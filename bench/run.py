"""One benchmark run: start the deployment, measure every section, stop everything.

Sections that need a missing tool (wrk, nginx, PostgreSQL) are either fatal or, with
``missing="skip"``, recorded under ``skipped`` with the reason.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import psycopg

from bench import audit_ingest, config_scale, gateway, propagation, scenarios
from bench.gateway import ControlPlane, DataPlane, Keys
from bench.loadgen import Sampler, wrk
from bench.nginx import nginx_child
from bench.plan import SESSION_TARGETS, SETUP_TARGETS, TOOLS, Plan
from bench.procs import Child, Stack, children_of, free_port, http_ok, rss_mb
from bench.profile import profile
from bench.scenarios import Series, Target
from bench.tools import ToolMissing, ensure

logger = logging.getLogger(__name__)


class Run:
    """State of one run: plan, temp dir, children, results and skips."""

    def __init__(self, plan: Plan, tmp: Path, *, missing: str, pg_url: str) -> None:
        self.plan = plan
        self.tmp = tmp
        self.missing = missing
        self.pg_url = pg_url
        self.stack = Stack(tmp / "logs")
        self.skipped: dict[str, str] = {}
        self.results: dict[str, Any] = {}
        self.sdk_pid = 0

    def skip(self, names: list[str], reason: str) -> None:
        """Record ``names`` as skipped, or raise when skipping is not allowed."""
        if self.missing != "skip":
            raise ToolMissing(reason)
        for name in names:
            self.skipped[name] = reason
        logger.warning("SKIPPED %s: %s", ", ".join(names), reason)

    def tool(self, name: str) -> bool:
        """Whether ``name`` is installed (installing it when allowed)."""
        try:
            ensure((name,))
        except ToolMissing as exc:
            if self.missing != "skip":
                raise
            logger.warning("%s", exc)
            return False
        return True

    def child(self, name: str, args: list[str]) -> Child:
        """Start a Python child of the bench."""
        return self.stack.add(Child.python(name, args, self.stack.log_dir))

    def execute(self) -> dict[str, Any]:
        """Run every section; returns the results (with ``skipped``)."""
        try:
            self._main_stack()
        finally:
            self.stack.stop()
        self._audit()
        self.results["skipped"] = self.skipped
        return self.results

    # --- sections ----------------------------------------------------------------------------

    def _main_stack(self) -> None:
        has_wrk, has_nginx = self.tool("wrk"), self.tool("nginx")
        up_port, sdk_port, naive_port = free_port(), free_port(), free_port()
        fast_url, sdk_url = f"http://127.0.0.1:{up_port}/mcp", f"http://127.0.0.1:{sdk_port}/mcp"
        upstream = self.child("upstream-fast", ["-m", "bench.upstream_fast", "--port", str(up_port)])
        sdk = self.child("upstream-sdk", ["-m", "mcpgw.demo_server", "--port", str(sdk_port)])
        self.sdk_pid = sdk.pid
        naive = self.child(
            "naive-proxy", ["-m", "bench.naive_proxy", "--port", str(naive_port), "--upstream", fast_url]
        )
        for child, url in ((upstream, fast_url), (sdk, sdk_url), (naive, f"http://127.0.0.1:{naive_port}/")):
            child.wait_until(http_ok(url, any_status=True), what="listening")
        cp = gateway.start_control_plane(self.stack, self.tmp, f"sqlite:///{self.tmp / 'cp.db'}")
        keys = gateway.register(cp, fast_url=fast_url, sdk_url=sdk_url)
        dp = gateway.start_data_plane(self.stack, self.tmp, "data-plane-0", control_plane=cp)
        # The stateless rows use one data plane with a worker per core, as it is meant to run
        # (nginx gets the same); sessions, scale and propagation use single-process ones.
        wide = gateway.start_data_plane(
            self.stack, self.tmp, "data-plane-workers", control_plane=cp, workers=os.cpu_count() or 1
        )
        for secret in (keys.narrow, keys.wide):
            gateway.wait_key_works(dp.url("fast"), secret)
            gateway.wait_key_works(wide.url("fast"), secret, consecutive=20)
        up_pids = [upstream.pid]
        gw_pids = {"data-plane": [dp.child.pid], "control-plane": [cp.child.pid], "upstream": up_pids}
        workers_pids = {**gw_pids, "data-plane": [wide.child.pid, *children_of(wide.child.pid)]}
        targets = {
            "direct": Target("direct", fast_url, "", {"upstream": up_pids}),
            "naive": Target(
                "naive",
                f"http://127.0.0.1:{naive_port}/mcp",
                "",
                {"naive-proxy": [naive.pid], "upstream": up_pids},
            ),
            "gateway-narrow": Target("gateway-narrow", wide.url("fast"), keys.narrow, workers_pids),
            "gateway-wide": Target("gateway-wide", wide.url("fast"), keys.wide, workers_pids),
        }
        if has_nginx:
            nginx_port = free_port()
            ngx = self.stack.add(
                nginx_child(
                    self.tmp / "nginx", port=nginx_port, upstream_port=up_port, log_dir=self.stack.log_dir
                )
            )
            ngx.wait_until(http_ok(f"http://127.0.0.1:{nginx_port}/mcp", any_status=True), what="listening")
            workers = children_of(ngx.pid)
            targets["nginx"] = Target(
                "nginx",
                f"http://127.0.0.1:{nginx_port}/mcp",
                "",
                {"nginx": [ngx.pid, *workers], "upstream": up_pids},
            )
        self._stateless(targets, has_wrk=has_wrk, has_nginx=has_nginx)
        self._sessions(targets, sdk_url, dp, keys, gw_pids)
        if has_wrk:
            out = self.tmp / "profile.raw"
            self.results["profile"] = profile(
                dp.child.pid, dp.url("fast"), keys.narrow, seconds=self.plan.profile_seconds, out=out
            )
        self._config_scale(fast_url, has_wrk=has_wrk)
        self._propagation(cp, dp)

    def _stateless(self, targets: dict[str, Target], *, has_wrk: bool, has_nginx: bool) -> None:
        series: list[Series] = []
        for tool in TOOLS:
            names = list(self.plan.targets_for(tool))
            if not has_wrk:
                self.skip([f"{tool}/{n}" for n in names], "wrk is not installed")
                continue
            if not has_nginx:
                self.skip([f"{tool}/nginx"], "nginx is not installed")
                names.remove("nginx")
            chosen = [targets[n] for n in names]
            series += scenarios.stateless(
                chosen, [tool], list(self.plan.levels), self.plan.seconds, self.plan.warmup
            )
        self.results.setdefault("series", []).extend(s.as_dict() for s in series)

    def _sessions(
        self,
        targets: dict[str, Target],
        sdk_url: str,
        dp: DataPlane,
        keys: Keys,
        gw_pids: dict[str, list[int]],
    ) -> None:
        sdk_pid = {"upstream": [self.sdk_pid]}
        by_name = {
            "direct": targets["direct"],
            "gateway": Target("gateway", dp.url("fast"), keys.narrow, gw_pids),
            "direct-sdk": Target("direct-sdk", sdk_url, "", sdk_pid),
            "gateway-sdk": Target("gateway-sdk", dp.url("sdk"), keys.narrow, {**gw_pids, **sdk_pid}),
        }
        levels, seconds = list(self.plan.levels), self.plan.seconds
        calls = scenarios.sessions([by_name[n] for n in SESSION_TARGETS], levels, seconds, setup_only=False)
        setups = scenarios.sessions([by_name[n] for n in SETUP_TARGETS], levels, seconds, setup_only=True)
        self.results.setdefault("series", []).extend(s.as_dict() for s in calls + setups)

    def _config_scale(self, fast_url: str, *, has_wrk: bool) -> None:
        rows: list[dict[str, Any]] = []
        for n, scale in enumerate(self.plan.scales):
            logger.info("config scale: %s", scale.label)
            built = config_scale.build(scale, self.tmp / f"scale-{n}", fast_url)
            figures = built.figures
            stack = Stack(self.stack.log_dir)
            try:
                files = (built.snapshot_file, built.verify_key_file, built.group_key_file)
                dp = gateway.start_data_plane(
                    stack, self.tmp, f"scale-dp-{n}", snapshot=files, ready_seconds=600
                )
                figures["dp_rss_ready_mb"] = round(rss_mb(dp.child.pid), 1)
                if has_wrk:
                    url = dp.url("srv-0")
                    scenarios.check_answer(Target("scale", url, config_scale.key_secret(0)), "echo")
                    for level in (1, 16):
                        with Sampler({"data-plane": [dp.child.pid]}) as sampler:
                            point = wrk(
                                url,
                                tool="echo",
                                key=config_scale.key_secret(0),
                                concurrency=level,
                                seconds=self.plan.seconds,
                            )
                        figures[f"c{level}"] = sampler.fill(point).as_dict()
                figures["dp_rss_loaded_mb"] = round(rss_mb(dp.child.pid), 1)
            finally:
                stack.stop()
            logger.info("config scale: %s", figures)
            rows.append(figures)
            shutil.rmtree(self.tmp / f"scale-{n}", ignore_errors=True)
        self.results["config_scale"] = rows

    def _propagation(self, cp: ControlPlane, first: DataPlane) -> None:
        dps = [first]
        rows: list[dict[str, Any]] = []
        for count in self.plan.propagation_dps:
            while len(dps) < count:
                dps.append(
                    gateway.start_data_plane(self.stack, self.tmp, f"data-plane-{len(dps)}", control_plane=cp)
                )
            row = propagation.measure(cp, dps, self.plan.trials, first=len(rows) * 1000)
            logger.info("propagation: %s", row)
            rows.append(row)
        self.results["propagation"] = rows

    def _audit(self) -> None:
        try:
            with psycopg.connect(self.pg_url, autocommit=True, connect_timeout=3) as conn:
                conn.execute("DROP DATABASE IF EXISTS mcpgw_bench_audit WITH (FORCE)")
                conn.execute("CREATE DATABASE mcpgw_bench_audit")
        except psycopg.OperationalError as exc:
            self.skip(["audit-ingest"], f"PostgreSQL is not reachable at {self.pg_url}: {exc}")
            return
        url = (
            "postgresql+psycopg://" + self.pg_url.split("://", 1)[1].rsplit("/", 1)[0] + "/mcpgw_bench_audit"
        )
        stack = Stack(self.stack.log_dir)
        try:
            cp = gateway.start_control_plane(stack, self.tmp, url, name="control-plane-pg")
            row = audit_ingest.measure(
                cp.grpc_port, streams=self.plan.audit_streams, seconds=self.plan.audit_seconds
            )
        finally:
            stack.stop()
            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS mcpgw_bench_audit WITH (FORCE)")
        logger.info("audit ingest: %s", row)
        self.results["audit_ingest"] = {**row, "database": "postgresql"}
