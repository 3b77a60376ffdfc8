"""Stage, check, promote: a new output replaces the live one only when it is good, and a refused
partition stays due."""

import json

import pyarrow as pa
import pytest

from acav_assets.contracts.failures import PromotionRefused
from acav_assets.io import storage
from acav_assets.ops.promotion import keep_previous_rows, lost_clips, promote, rejected, rejection_note, staged
from acav_assets.ops.shard_freshness import due_assets, modification_times, refusal_times
from acav_assets.quality.suites import ExpectationResult, QualityReport


def rows(**statuses: str) -> pa.Table:
    return pa.table({"key": list(statuses), "status": list(statuses.values())})


PASSED = QualityReport("suite", (ExpectationResult("expect_x", "status", True, ""),), rows=2)
FAILED = QualityReport("suite", (ExpectationResult("expect_x", "status", False, "2 unexpected", ("a", "b")),), rows=2)


def test_lost_clips_are_those_ok_before_and_not_now():
    live = rows(a="ok", b="ok", c="error", d="ok")
    candidate = rows(a="ok", b="error", c="ok", e="error")  # d is no longer planned
    assert lost_clips(live, candidate) == ["b"]
    assert lost_clips(None, candidate) == []
    assert lost_clips(pa.table({"key": ["a"]}), pa.table({"key": ["a"]})) == []


def test_a_good_candidate_is_promoted_with_its_companion(tmp_path):
    url, tar = f"{tmp_path}/clips/s1.parquet", f"{tmp_path}/audio/s1.tar"
    storage.write_text("new audio", staged(tar))
    promote(rows(a="ok", b="error"), url, PASSED, companions=[tar])
    assert storage.read_table(url).equals(rows(a="ok", b="error"))
    assert open(tar).read() == "new audio"
    assert not storage.exists(staged(url)) and not storage.exists(staged(tar))


@pytest.mark.parametrize("report, candidate, expected", [
    (PASSED, rows(a="error", b="error"), "2 clip(s) that were ok in the live output would become errors: a, b"),
    (FAILED, rows(a="ok", b="ok"), "its blocking checks failed"),
])
def test_a_worse_or_failing_candidate_leaves_the_live_output(tmp_path, report, candidate, expected):
    url, tar = f"{tmp_path}/clips/s1.parquet", f"{tmp_path}/audio/s1.tar"
    promote(rows(a="ok", b="ok"), url, PASSED)
    storage.write_text("good audio", tar)
    storage.write_text("empty audio", staged(tar))
    with pytest.raises(PromotionRefused, match="previous output stays live") as refused:
        promote(candidate, url, report, companions=[tar], what="clips of shard s1")
    assert expected in str(refused.value)
    assert storage.read_table(url).equals(rows(a="ok", b="ok"))
    assert open(tar).read() == "good audio"
    assert storage.read_table(rejected(url)).equals(candidate) and open(rejected(tar)).read() == "empty audio"
    note = json.loads(open(rejection_note(url)).read())
    assert note["what"] == "clips of shard s1" and set(note["clips"]) == {"a", "b"}

    # A later good run promotes and clears the note.
    promote(rows(a="ok", b="ok"), url, PASSED)
    assert not storage.exists(rejection_note(url))


def test_a_refused_partition_is_due_until_a_run_promotes(tmp_path):
    root = str(tmp_path)
    promote(rows(a="ok"), f"{root}/shard_plans/s1.parquet")
    promote(rows(a="ok"), f"{root}/clips/s1.parquet")
    dependencies = {"clips": []}

    def due():
        return due_assets("s1", dependencies, modification_times(root, ["shard_plans", "clips"]),
                          refused=refusal_times(root, ["clips"]))

    assert due() == ([], "")
    with pytest.raises(PromotionRefused):
        promote(rows(a="error"), f"{root}/clips/s1.parquet")
    assert due() == (["clips"], "clips: its last run was refused by its checks")
    promote(rows(a="ok"), f"{root}/clips/s1.parquet")
    assert due() == ([], "")


def test_keep_previous_rows_puts_back_what_a_new_attempt_lost(tmp_path):
    url = f"{tmp_path}/captions/s1.parquet"
    live = pa.table({"key": ["a", "b", "c"], "status": ["ok", "ok", "error"], "text": ["old a", "old b", None]})
    promote(live, url)
    candidate = pa.table({"key": ["a", "b", "c", "d"], "status": ["error", "ok", "ok", "ok"],
                          "text": [None, "new b", "new c", "new d"]})
    kept = keep_previous_rows(candidate, url)
    assert kept.to_pydict() == {"key": ["a", "b", "c", "d"], "status": ["ok", "ok", "ok", "ok"],
                                "text": ["old a", "new b", "new c", "new d"]}
    promote(kept, url)  # nothing is lost any more
