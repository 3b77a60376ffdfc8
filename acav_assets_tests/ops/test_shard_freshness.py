"""Which per-shard outputs are due: missing, older than an input, or downstream of something due."""

import os

from acav_assets.ops.shard_freshness import due_assets, due_shards, modification_times

# A small chain with a fan-in: plan -> a -> (b, c) -> d
DEPENDENCIES = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def times_of(**per_asset) -> dict:
    return {"shard_plans": {"s": 1.0, "t": 1.0}, **per_asset}


def test_complete_and_fresh_shard_has_nothing_due():
    times = times_of(a={"s": 2.0}, b={"s": 3.0}, c={"s": 3.0}, d={"s": 4.0})
    assert due_assets("s", DEPENDENCIES, times) == ([], "")


def test_missing_output_and_everything_downstream_are_due():
    times = times_of(a={"s": 2.0}, b={"s": 3.0}, d={"s": 4.0})  # c never written (run killed)
    assets, reason = due_assets("s", DEPENDENCIES, times)
    assert assets == ["c", "d"] and reason == "c: missing"


def test_recomputed_upstream_makes_downstream_due():
    times = times_of(a={"s": 2.0}, b={"s": 5.0}, c={"s": 3.0}, d={"s": 4.0})  # b rewritten after d
    assert due_assets("s", DEPENDENCIES, times) == (["d"], "d: older than b")


def test_changed_plan_makes_the_whole_shard_due():
    times = {"shard_plans": {"s": 9.0}, "a": {"s": 2.0}, "b": {"s": 3.0}, "c": {"s": 3.0}, "d": {"s": 4.0}}
    assets, reason = due_assets("s", DEPENDENCIES, times)
    assert set(assets) == {"a", "b", "c", "d"} and assets[0] == "a" and assets[-1] == "d"
    assert reason == "a: older than shard_plans"


def test_due_shards_are_bounded_skip_busy_ones_and_need_a_plan():
    times = {"shard_plans": {"s": 1.0, "t": 1.0, "u": 1.0}, "a": {"s": 2.0}}
    everything = due_shards(["s", "t", "u", "no-plan"], DEPENDENCIES, times)
    assert [d.shard for d in everything] == ["s", "t", "u"]
    assert everything[0].assets == ("b", "c", "d") and everything[1].assets[0] == "a"
    assert [d.shard for d in due_shards(["s", "t", "u"], DEPENDENCIES, times, limit=2)] == ["s", "t"]
    assert [d.shard for d in due_shards(["s", "t", "u"], DEPENDENCIES, times, limit=2, skip={"s"})] == ["t", "u"]


def test_modification_times_read_one_listing_per_folder_and_ignore_partial_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "s.parquet").write_bytes(b"x")
    (tmp_path / "a" / "t.parquet.tmp-0123abcd").write_bytes(b"half")
    (tmp_path / "a" / "notes.txt").write_text("not a partition")
    os.utime(tmp_path / "a" / "s.parquet", (1_000_000, 1_000_000))
    times = modification_times(str(tmp_path), ["a", "never_written"])
    assert times == {"a": {"s": 1_000_000.0}, "never_written": {}}


def test_partial_files_of_the_given_shards_are_removed(tmp_path):
    from acav_assets.ops.shard_freshness import remove_partial_files

    (tmp_path / "a").mkdir()
    for name in ("s.parquet", "s.parquet.tmp-1f2e", "t.parquet.tmp-3a4b"):
        (tmp_path / "a" / name).write_bytes(b"x")
    removed = remove_partial_files(str(tmp_path), ["a", "missing"], ["s"])
    assert [r.rsplit("/", 1)[-1] for r in removed] == ["s.parquet.tmp-1f2e"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["s.parquet", "t.parquet.tmp-3a4b"]
