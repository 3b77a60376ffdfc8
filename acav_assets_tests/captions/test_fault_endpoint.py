"""The caption step against a hostile endpoint: every clip meets a different fault, outages stop
the step with ``EndpointUnreachable``, and a re-run never asks again for an answered clip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("openai")

from acav_assets.captions.llm_client import CONTENT_FILTERED, EMPTY_CHOICES  # noqa: E402
from acav_assets.contracts.failures import EndpointUnreachable  # noqa: E402
from acav_assets_tests.fault_endpoint import (  # noqa: E402
    FAULTS,
    QUICK_SETTINGS,
    VALID,
    FaultEndpoint,
    fault_clips,
    hostile_run,
)
from acav_assets_tests.reference_data import DEMO_EVIDENCE_ROWS  # noqa: E402

DEMO = json.loads(DEMO_EVIDENCE_ROWS.read_text())
SYSTEMIC = ("http_401", "http_403", "http_404_model")
# Faults that stay a clip's own error however often it is asked, with the reason it gets.
PERSISTENT = {"content_filter": CONTENT_FILTERED, "http_400": "HTTP 400", "not_json_answer": "invalid reply",
              "empty_choices": EMPTY_CHOICES, "length": "truncated", "reset": "connection error",
              "wrong_types": "invalid reply"}
NOT_RETRIED = {"content_filter", "http_400"}  # an error at the first try, even when the next would pass


def test_every_clip_meets_a_different_fault(tmp_path: Path) -> None:
    # Each fault once, then a good answer (recoverable in the run, except what is never retried);
    # then the faults that persist.
    once = [f for f in FAULTS if f not in SYSTEMIC]
    plan = [(f, [f] if f in VALID else [f, "good"]) for f in once] + [(f, [f]) for f in PERSISTENT]
    assert len(plan) >= 40
    clips = fault_clips(DEMO, len(plan))
    schedule = {clip["key"]: faults for clip, (_, faults) in zip(clips, plan)}
    with FaultEndpoint(schedule, hang_s=2.5) as server:
        run = hostile_run(clips, server, str(tmp_path / "replies"), **QUICK_SETTINGS)
        assert {r.fault for r in server.log} == set(FAULTS) - set(SYSTEMIC)
    assert run.raised == [None, None]
    assert run.counts() == {"crashes": 0, "systemic": 0, "clips_without_reason": 0, "repeated_requests": 0}
    first, second = ({row["key"]: row for row in rows} for rows in run.rows)
    for clip, (fault, faults) in zip(clips, plan):
        row, again = first[clip["key"]], second[clip["key"]]
        if fault in PERSISTENT and (faults == [fault] or fault in NOT_RETRIED):
            assert row["status"] == "error" and PERSISTENT[fault] in row["error"], (fault, row["error"])
            # asked again on the re-run: a persistent fault fails again, a passing one is answered
            assert again["status"] == ("error" if faults == [fault] else "ok") and again["requests"] > 0
        else:
            assert row["status"] == "ok" and again["cache_hit"] and again["requests"] == 0, (fault, row.get("error"))
    assert set(run.requests[1]) == {k for k, row in first.items() if row["status"] == "error"}


def test_slow_group_does_not_hold_up_the_others(tmp_path: Path) -> None:
    clips = fault_clips(DEMO, len(DEMO))
    slow = {c["key"] for c in clips if c["routed_domain"] == "S00"}  # sorts first among the domains
    assert slow and len(slow) < len(clips)
    with FaultEndpoint({k: ["slow"] for k in slow}, slow_s=1.0) as server:
        run = hostile_run(clips, server, str(tmp_path), runs=1, **{**QUICK_SETTINGS, "timeout_s": 10.0})
    assert run.raised == [None] and all(r["status"] == "ok" for r in run.rows[0])
    first_slow_done = min(r.ended for r in server.log if r.clip in slow)
    fast_started = [r.started for r in server.log if r.clip not in slow]
    assert len(fast_started) == len(clips) - len(slow)
    assert max(fast_started) < first_slow_done  # the fast clips did not wait for the slow domain


@pytest.mark.parametrize("fault", ["reset", "hang", "close_early", "http_500", "http_503", "http_429"])
def test_endpoint_outage_is_systemic_and_answers_are_kept(tmp_path: Path, fault: str) -> None:
    clips = fault_clips(DEMO, 10)
    answered = {c["key"] for c in clips[:3]}
    settings = {**QUICK_SETTINGS, "timeout_s": 0.3, "max_retries": 1, "concurrency": 1}
    with FaultEndpoint({k: ["good"] for k in answered}, default=[fault], hang_s=1.0) as server:
        down = hostile_run(clips, server, str(tmp_path), runs=1, **settings)
        (error,) = down.raised
        assert isinstance(error, EndpointUnreachable), error
        text = str(error)
        assert "127.0.0.1" in text and "requests failed" in text and "last reason" in text
        assert sum(down.requests[0].values()) == 3 + 3 * 2  # three answers, three items lost, then none sent
        assert down.counts()["crashes"] == 0 and down.counts()["systemic"] == 1
        server.default = ["good"]  # the endpoint is back
        back = hostile_run(clips, server, str(tmp_path), runs=1, **settings)
    assert back.raised == [None] and all(r["status"] == "ok" for r in back.rows[0])
    assert not answered & set(back.requests[0])  # the answers before the outage were not paid twice


@pytest.mark.parametrize("fault", ["http_401", "http_403", "http_404_model"])
def test_refused_configuration_stops_the_step(tmp_path: Path, fault: str) -> None:
    clips = fault_clips(DEMO, 6)
    with FaultEndpoint(default=[fault]) as server:
        run = hostile_run(clips, server, str(tmp_path), runs=1, **{**QUICK_SETTINGS, "concurrency": 2})
        assert server.requests_for() <= 2  # not retried, and no new request after the first refusal
    (error,) = run.raised
    assert isinstance(error, EndpointUnreachable) and "refuses the configuration" in str(error)
    assert f"HTTP {fault.split('_')[1]}" in str(error)


def test_fault_schedule_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown faults"):
        FaultEndpoint({"x": ["good", "gremlins"]})
