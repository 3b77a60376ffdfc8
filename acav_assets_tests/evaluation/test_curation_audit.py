"""The curation audit: false evidence-consistency drops judged against a corpus's recorded labels."""

from __future__ import annotations

import json
import os
import zlib

import numpy as np
import pyarrow as pa
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from acav_assets.captions.table import CAPTIONS_SCHEMA  # noqa: E402
from acav_assets.contracts.layout import DataLayout  # noqa: E402
from acav_assets.evaluation.curation_audit import (  # noqa: E402
    audit_shards,
    component_parts,
    format_audit,
    is_false_drop,
    parts,
)
from acav_assets.io import storage  # noqa: E402

SHARD = "rc-00000"


class Unrelated:
    """No two different texts are similar, so only a supported name keeps a caption."""

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 1 << 16), dtype=np.float32)
        out[np.arange(len(texts)), [zlib.crc32(t.encode()) % (1 << 16) for t in texts]] = 1.0
        return out


@pytest.mark.parametrize(("stated", "labelled", "false"), [
    ("0M0", "0M0", True), ("0M0", "SMA", True), ("S0A", "S0A", True), ("000", "000", True),
    ("0MA", "0M0", False), ("S00", "0M0", False), ("000", "00A", False), ("00A", "000", False),
])
def test_a_drop_is_false_when_every_stated_part_is_labelled(stated: str, labelled: str, false: bool) -> None:
    assert is_false_drop(stated, labelled) is false


def test_parts_and_component_roles() -> None:
    assert parts("S0A") == {"S", "A"} and parts("000") == set()
    roles = [{"recording": "r1", "role": "speech"}, {"recording": "r2", "role": "sound"}]
    assert component_parts(json.dumps({"components": json.dumps(roles)})) == {"S", "A"}
    assert component_parts(json.dumps({"components": json.dumps([{"role": "silence"}])})) == set()
    assert component_parts(None) is None and component_parts(json.dumps({"split": "heldout"})) is None


def _caption(key: str, domain: str, long: str) -> dict:
    facets = {f: ["None", "absent", "absent"] for f in ("speech", "music", "sound")}
    for facet, letter in (("speech", "S"), ("music", "M"), ("sound", "A")):
        if letter in domain:
            facets[facet] = [f"{facet} present", f"{facet} heard", f"{facet}"]
    row = {"key": key, "shard": SHARD, "domain": domain, "status": "ok", "error": None, "model": "test",
           "long": [long, long + ".", long + "!"], "short": ["short", "short.", "short!"],
           "environment": ["quiet room", "a quiet room", "room"], "qa": [], **facets}
    for facet in ("long", "short", "speech", "music", "sound", "environment"):
        row[f"{facet}_confidence"] = [0.9, 0.9, 0.9]
    return row


def _tags(*labels: str) -> dict:
    return {"tagging": {"top_labels": [{"label": label, "score": 0.8} for label in labels]}}


def _write(root, clips: list[tuple[str, str, str, str, dict, str]],
           stored_drops: list[dict] | None = None) -> DataLayout:
    """clips: (key, labelled domain, stated domain, caption, evidence, checksum)."""
    layout = DataLayout(str(root))
    for asset in ("captions", "evidence", "clips", "shard_plans"):
        (root / asset).mkdir()
    storage.write_table(pa.Table.from_pylist([_caption(k, stated, text) for k, _, stated, text, _, _ in clips],
                                             schema=CAPTIONS_SCHEMA), layout.table("captions", SHARD))
    storage.write_table(pa.Table.from_pylist([{"key": k, "source_id": k, **ev} for k, *_, ev, _ in clips]),
                        layout.table("evidence", SHARD))
    storage.write_table(pa.Table.from_pylist([{"key": k, "checksum": c} for k, *_, c in clips]),
                        layout.table("clips", SHARD))
    roles = {"S": "speech", "M": "music", "A": "sound"}
    plans = [{"key": k, "domain": labelled, "extra": json.dumps({"components": json.dumps(
        [{"role": roles[x]} for x in labelled if x != "0"] or [{"role": "silence"}])})}
        for k, labelled, *_ in clips]
    storage.write_table(pa.Table.from_pylist(plans), layout.shard_plan(SHARD))
    if stored_drops is not None:
        (root / "curation_drops").mkdir()
        storage.write_table(pa.Table.from_pylist(stored_drops), layout.table("curation_drops", SHARD))
    return layout


def test_audit_counts_drops_per_labelled_domain_and_judges_evidence_drops(tmp_path) -> None:
    layout = _write(tmp_path, [
        # kept: names a sound the evidence found
        ("kept_0_10", "00A", "00A", "A dog barks", _tags("Dog"), "c1"),
        # kept, but states speech the clip does not have
        ("wrong_0_10", "00A", "S0A", "A man talks over a barking dog", _tags("Dog", "Speech"), "c4"),
        # right about its part (music is there) but names nothing the evidence found: a false drop
        ("false_0_10", "0M0", "0M0", "Soft melodies drift by", _tags("Guitar"), "c2"),
        # states other sounds in a music-only clip: a true drop
        ("true_0_10", "0M0", "0MA", "Hammering and sawing", _tags("Piano"), "c3"),
        # two clips labelled 000 with identical PCM that the evidence does not call silent (copied low noise)
        ("quiet1_0_10", "000", "000", "Silence throughout", {}, "zeros"),
        ("quiet2_0_10", "000", "000", "Silence throughout", {}, "zeros"),
    ], stored_drops=[{"key": "true_0_10", "shard": SHARD, "reason": "evidence_inconsistent", "detail": ""}])
    audit = audit_shards(layout, Unrelated())
    assert {d: (a.clips, a.kept, dict(a.drops), a.checked, a.false_drops, a.kept_wrong)
            for d, a in audit.by_domain.items()} == {
        "000": (2, 1, {"duplicate": 1}, 2, 0, 0),
        "00A": (2, 2, {}, 2, 0, 1),
        "0M0": (2, 0, {"evidence_inconsistent": 2}, 2, 1, 0),
    }
    assert {d["key"]: d["false"] for d in audit.evidence_drops} == {"false_0_10": True, "true_0_10": False}
    assert audit.silent_duplicates == [{"key": "quiet2_0_10", "reason": "duplicate", "of": "quiet1_0_10",
                                        "same_audio": True}]
    assert audit.stored_differences == ["false_0_10", "quiet2_0_10"]  # the stored run dropped only one
    assert audit.label_conflicts == [] and audit.unlabelled == 0
    report = format_audit(audit)
    assert "| all | 6 | 3 | 1 | 2 | 1 | 6 | 1/6 (16.7%) |" in report
    assert "FALSE false_0_10 labelled 0M0, states 0M0" in report


def test_components_that_disagree_with_the_domain_are_reported(tmp_path) -> None:
    layout = _write(tmp_path, [("odd_0_10", "00A", "00A", "A dog barks", _tags("Dog"), "c1")])
    plans = storage.read_table(layout.shard_plan(SHARD)).to_pylist()
    plans[0]["extra"] = json.dumps({"components": json.dumps([{"role": "music"}])})
    storage.write_table(pa.Table.from_pylist(plans), layout.shard_plan(SHARD))
    audit = audit_shards(layout, Unrelated())
    assert audit.label_conflicts == ["odd_0_10"] and audit.by_domain["00A"].kept == 1
