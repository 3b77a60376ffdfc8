"""Batched tagger front ends: AST's against transformers' own (float64 numpy) Kaldi filter bank,
CED's against known answers (tone band, frame count, the batch-wide 120 dB floor)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import ASTFeatureExtractor

from acav_assets.experts.tagging import front_ends
from acav_assets.experts.tagging.hub_tagger import FRONT_END_TOLERANCE

RATE = 16_000


def signals(seconds: float = 2.0) -> np.ndarray:
    """Noise, a pure tone (deep spectral sidelobes), a late chirp, digital silence, very quiet noise."""
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * RATE)) / RATE
    return np.stack([
        0.1 * rng.standard_normal(t.size),
        0.5 * np.sin(2 * np.pi * 440 * t),
        np.sin(2 * np.pi * (200 + 2000 * t) * t) * (t > seconds / 2),
        np.zeros(t.size),
        1e-4 * rng.standard_normal(t.size),
    ]).astype(np.float32)


@pytest.mark.parametrize(("mels", "frames", "seconds"), [(128, 1024, 2.0), (128, 208, 2.0), (64, 200, 12.0)])
def test_ast_front_end_reproduces_the_extractor(mels, frames, seconds):
    """Padded (2 s into 10.24 s), exact, and cut (12 s into 2 s) inputs."""
    extractor = ASTFeatureExtractor(num_mel_bins=mels, max_length=frames)
    batch = signals(seconds)
    theirs = extractor(batch, sampling_rate=RATE, return_tensors="pt")
    ours = front_ends.front_end_for(extractor)(torch.from_numpy(batch))
    assert ours["input_values"].shape == theirs["input_values"].shape == (5, frames, mels)
    assert ours["input_values"].dtype == torch.float32
    assert front_ends.largest_difference(ours, theirs) < 1e-5


def test_the_tolerance_separates_rounding_from_wrong_settings(monkeypatch):
    extractor = ASTFeatureExtractor(max_length=208)
    batch = signals()
    theirs = extractor(batch, sampling_rate=RATE, return_tensors="pt")
    right = front_ends.ast_front_end(extractor)(torch.from_numpy(batch))
    # float32 rounding of a CPU or GPU FFT (measured: 1.8e-3 at worst) stays under the tolerance
    rounded = {"input_values": right["input_values"] * (1 + 2e-3)}
    assert front_ends.largest_difference(rounded, theirs) < FRONT_END_TOLERANCE
    louder = front_ends.ast_front_end(extractor)(torch.from_numpy(batch * 2))
    assert front_ends.largest_difference(louder, theirs) > 5 * FRONT_END_TOLERANCE
    monkeypatch.setattr(front_ends, "_KALDI_PREEMPHASIS", 0.0)
    unemphasised = front_ends.ast_front_end(extractor)(torch.from_numpy(batch))
    assert front_ends.largest_difference(unemphasised, theirs) > 5 * FRONT_END_TOLERANCE
    shorter = {"input_values": right["input_values"][:, :-1]}
    assert front_ends.largest_difference(shorter, theirs) == float("inf")


class CedFeatureExtractor:
    """The settings CED's hub extractor carries (its code is not loaded offline)."""

    sampling_rate, f_min, f_max, center = RATE, 0, None, True
    win_size, n_fft, hop_size, feature_size = 512, 512, 160, 64


def htk_band_of(hz: float, bands: int = 64, top_hz: float = 8000.0) -> int:
    """Index of the HTK-mel triangle whose centre is nearest ``hz``."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    centres = np.linspace(mel(0.0), mel(top_hz), bands + 2)[1:-1]
    return int(np.argmin(np.abs(centres - mel(hz))))


def test_ced_front_end_known_answers():
    front_end = front_ends.front_end_for(CedFeatureExtractor())
    assert front_end is not None
    t = np.arange(2 * RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = front_end(torch.from_numpy(np.stack([tone, np.zeros_like(tone)])))["input_values"]
    assert out.shape == (2, 64, 1 + tone.size // 160) and out.dtype == torch.float32
    loudest_band = int(out[0].mean(dim=1).argmax())
    assert abs(loudest_band - htk_band_of(1000.0)) <= 1
    # AmplitudeToDB(top_db=120) on a [batch, mels, frames] input floors the whole batch together
    assert float(out[1].max()) == pytest.approx(float(out[0].max()) - 120.0, abs=1e-3)
    alone = front_end(torch.from_numpy(np.zeros_like(tone)[None]))["input_values"]
    assert float(alone.max()) == pytest.approx(-100.0)  # 10 log10 of the 1e-10 amplitude floor


def test_unknown_extractors_get_no_front_end():
    class WhisperFeatureExtractor:
        sampling_rate = RATE

    assert front_ends.front_end_for(WhisperFeatureExtractor()) is None

    class ASTFeatureExtractor:  # the right name without the settings
        pass

    assert front_ends.front_end_for(ASTFeatureExtractor()) is None
