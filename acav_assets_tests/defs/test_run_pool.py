"""The CLI's run workers: many runs per process, progress passed on, a dead worker fails only its run."""

import sys
import textwrap

from acav_assets.defs.run_pool import RunPool, RunRequest

# A stand-in worker speaking the protocol of acav_assets.defs.run_worker: partition "crash" kills
# the process mid-run, "bad" fails; each answer names the worker's pid so reuse can be seen.
FAKE_WORKER = textwrap.dedent("""
    import json, os, sys
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps({"event": "progress", "text": "halfway"}), flush=True)
        if request["partition"] == "crash":
            sys.stderr.write("segfault in a native library\\n"); sys.stderr.flush()
            os._exit(139)
        ok = request["partition"] != "bad"
        print(json.dumps({"event": "done", "success": ok, "run_id": str(os.getpid()),
                          "problems": [] if ok else ["step tags failed: ValueError: broken"]}), flush=True)
""")


def _pool(shown, workers=1):
    return RunPool(workers, show=shown.append, command=[sys.executable, "-c", FAKE_WORKER])


def test_one_worker_serves_many_runs_and_reports_progress():
    shown = []
    with _pool(shown) as pool:
        outcomes = pool.run([RunRequest("group:ingest", f"s{i}", f"shard s{i}") for i in range(3)])
    assert [o.success for o in outcomes] == [True, True, True]
    assert len({o.run_id for o in outcomes}) == 1  # one process served them all
    assert "  shard s0: halfway" in shown
    assert any(line.startswith("materialised shard s2") and "[3/3]" in line for line in shown)


def test_a_dead_worker_fails_only_its_run_and_is_replaced():
    shown = []
    with _pool(shown) as pool:
        outcomes = pool.run([RunRequest("x", p, p) for p in ["a", "crash", "bad", "b"]])
    assert [o.success for o in outcomes] == [True, False, False, True]
    assert "exit code 139" in outcomes[1].problems[0]
    assert any("segfault in a native library" in line for line in outcomes[1].problems)
    assert outcomes[2].problems == ["step tags failed: ValueError: broken"]
    assert outcomes[0].run_id != outcomes[3].run_id  # a fresh worker after the crash
    assert any(line.startswith("FAILED crash") for line in shown)


def test_two_workers_share_the_requests():
    shown = []
    with _pool(shown, workers=2) as pool:
        outcomes = pool.run([RunRequest("x", f"s{i}", f"s{i}") for i in range(6)])
    assert all(o.success for o in outcomes)
    assert [o.request.partition for o in outcomes] == [f"s{i}" for i in range(6)]


def test_stage_totals_are_collected():
    worker = textwrap.dedent("""
        import json, sys
        for line in sys.stdin:
            print(json.dumps({"event": "progress", "text": "tagging: done",
                              "totals": {"stage": "tagging", "clips": 3, "audio_seconds": 30.0, "seconds": 2.0}}), flush=True)
            print(json.dumps({"event": "done", "success": True, "run_id": "r", "problems": []}), flush=True)
    """)
    with RunPool(1, show=lambda line: None, command=[sys.executable, "-c", worker]) as pool:
        pool.run([RunRequest("x", "s0", "shard s0")])
    assert pool.stage_totals == [{"run": "shard s0", "stage": "tagging", "clips": 3, "audio_seconds": 30.0,
                                  "seconds": 2.0}]
