"""The benchmark machinery at a tiny scale. No figure is asserted: only that the bench seeds a
consistent instance, measures, and writes JSON with a ratio for every scenario it could run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("COOPOL_TEST_DATABASE_URL")


@pytest.fixture
def bench_instance(tmp_path):
    from bench.instance import create_instance
    from bench.processes import free_port

    instance = create_instance(tmp_path, "seeded", free_port(), PG_ADMIN_URL)
    yield instance
    instance.dispose()


def test_seeded_instance_is_consistent_and_its_tokens_authenticate(bench_instance):
    from bench.checks import inconsistencies
    from bench.seed import SeedPlan, seed
    from coopol.extensions import db

    plan = SeedPlan(ideas=120, votes=600, comments=200, members=40, remote_members_per_ally=5, tokens=10,
                    page_comments=50)
    data = seed(bench_instance, plan, random.Random(3))
    app = bench_instance.app
    with app.app_context(), db.engine.connect() as conn:
        assert inconsistencies(conn) == {}
    assert data.counts["members"] == 40 and len(data.tokens) == 10
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {data.tokens[3]}"})
    assert me.status_code == 200
    assert me.get_json()["handle"] == "bench000003"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer cpl_not-a-token"}).status_code == 401
    if data.idea_ids:
        assert data.counts["ideas"] == 120 and data.counts["comments"] == 200
        assert data.page_idea_id is not None
        # The app's own vote path keeps the seeded counters consistent.
        headers = {"Authorization": f"Bearer {data.tokens[0]}"}
        for idea_id in data.idea_ids[:5]:
            client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=headers)
        with app.app_context(), db.engine.connect() as conn:
            assert inconsistencies(conn) == {}


def test_lua_requests_escape_every_byte():
    from bench.load import Request, _lua_string, write_lua

    assert _lua_string('a"b\\c\n\u00e9') == '"a\\034b\\092c\\010\\195\\169"'
    path = REPO / "bench" / "results" / "_test.lua"
    path.parent.mkdir(exist_ok=True)
    try:
        write_lua([Request("PUT", "/x?y=1", {"Authorization": "Bearer t"}, b'{"value": "support"}')], path)
        text = path.read_text()
        assert '{"PUT", "/x?y=1", {["Authorization"] = "Bearer t"}, "{\\034value\\034: \\034support\\034}"},' in text
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["python", "wrk"])
def test_smoke_run_writes_json_with_ratios(tmp_path, generator):
    import shutil

    if generator == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    args = [sys.executable, "-m", "bench", "--smoke", "--generator", generator, "--connections", "4,8",
            "--out", str(tmp_path)]
    if PG_ADMIN_URL:
        args += ["--database", PG_ADMIN_URL]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["database"] == ("postgresql" if PG_ADMIN_URL else "sqlite")
    assert results["machine"]["cpu_model"] and results["machine"]["python"]
    assert results["machine"]["load_generator"] == generator
    assert set(results["bare"]) == {"4", "8"} and all(ref["rps"] > 0 for ref in results["bare"].values())
    by_key = {entry["key"]: entry for entry in results["scenarios"] + results["federation"]}
    assert {"nodb", "me", "top", "top-member", "hot", "search", "page", "vote", "inbox", "deliveries",
            "propagation"} <= set(by_key)
    rss = results["rss"]
    assert len(rss["after_load_mb"]["coopol"]) == 4 and all(mb > 0 for mb in rss["after_load_mb"]["coopol"])
    assert rss["max_mb"] == max(rss["after_load_mb"]["coopol"]) and "RSS of one gunicorn worker" in done.stdout
    for entry in by_key.values():
        assert entry["status"] in ("ok", "skipped"), entry
        if entry["status"] == "skipped":
            assert entry["reason"]
    # Federation exists in this checkout: both figures must be measured, not skipped.
    deliveries, propagation = by_key["deliveries"], by_key["propagation"]
    assert deliveries["status"] == "ok" and propagation["status"] == "ok", (deliveries, propagation)
    assert deliveries["recorded_delivered"] == deliveries["deliveries"] and deliveries["unsigned"] == 0
    assert deliveries["worker_per_s"] > 0 and deliveries["bare_loop_per_s"] > 0
    assert propagation["allies"] == 2 and len(propagation["publications"]) == 1
    for sample in propagation["publications"]:
        assert 0 < sample["first"] <= sample["last"] and sample["delivered"] == propagation["allies"]
    measured = [e for e in results["scenarios"] if e["status"] == "ok"]
    assert measured, "at least the token-authenticated scenario runs on the foundation alone"
    for entry in measured:
        assert set(entry["runs"]) == {"4", "8"}
        for run in entry["runs"].values():
            assert run["requests"] > 0 and run["ratio"] > 0 and run["p99_ms"] >= run["p50_ms"] > 0
    assert "Coopol bench on" in done.stdout and "ratio" in done.stdout
    assert (tmp_path / "latest.png").exists() or "matplotlib is not installed" in done.stderr


def test_a_processs_memory_is_read_as_rss_pss_and_uss():
    import os

    from bench.processes import memory_mb, rss_mb

    found = memory_mb(os.getpid())
    assert found is not None and set(found) == {"rss", "pss", "uss"}
    assert 0 < found["uss"] <= found["pss"] <= found["rss"]
    assert abs(found["rss"] - rss_mb(os.getpid())) < 0.25 * found["rss"]
    assert memory_mb(2 ** 22 + 7) is None  # gone
