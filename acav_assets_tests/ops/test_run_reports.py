"""A failed run is reported by its own reasons and clip keys, not by Dagster's stack traces."""

import dagster as dg

from acav_assets.contracts.failures import PromotionRefused
from acav_assets.defs.run_reports import run_problems


@dg.asset
def refused_asset() -> None:
    raise PromotionRefused("clips of shard s1 not promoted; the previous output stays live. 2 clip(s) "
                           "that were ok in the live output would become errors: s1_a, s1_b")


@dg.asset
def failed_asset() -> None:
    raise dg.Failure(description="PromotionRefused: captions of shard s2 not promoted", allow_retries=False)


@dg.asset
def checked_asset() -> None:
    return None


@dg.asset_check(asset=checked_asset, blocking=True)
def failing_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="clips: 1 of 6 expectations failed\n- in set; clips: s1_c")


def test_failed_steps_and_checks_are_reported_by_reason_and_clip():
    with dg.instance_for_test() as instance:
        refused = dg.materialize([refused_asset], instance=instance, raise_on_error=False)
        checked = dg.materialize([checked_asset, failing_check], instance=instance, raise_on_error=False)
        failed = dg.materialize([failed_asset], instance=instance, raise_on_error=False)
        step = run_problems(instance, refused.run_id)
        assert run_problems(instance, failed.run_id) == [
            "step failed_asset failed: PromotionRefused: captions of shard s2 not promoted"]
        check = run_problems(instance, checked.run_id)
    assert len(step) == 1 and step[0].startswith("step refused_asset failed: PromotionRefused: clips of shard s1")
    assert "s1_a, s1_b" in step[0] and "Traceback" not in step[0] and "dagster" not in step[0]
    assert any(p.startswith("check checked_asset.failing_check failed: clips: 1 of 6") and "s1_c" in p for p in check)
