"""Batched log-mel front ends that reproduce hub taggers' feature extractors in torch.

A ``transformers`` feature extractor runs on the CPU, and AST's computes its Kaldi filter bank
one waveform at a time. On a GPU that costs more than the model and hides what batching gains.
These functions compute the same features for a ``[batch, samples]`` tensor wherever it lives,
so the front end runs on the model's device, one call per batch. Spectra are computed in float64,
so the features do not depend on the device's FFT: float32 FFTs move the log power of bins 100 dB
below a pure tone's peak by up to 0.25 % of the feature range, differently on the CPU and in cuFFT.

:func:`front_end_for` picks the one matching an extractor (AST and CED are known), or ``None``.
:class:`~acav_assets.experts.tagging.hub_tagger.HubAudioTagger` uses it only after checking on its first batch that
it reproduces the model's own extractor, and otherwise keeps the extractor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

FrontEnd = Callable[[Any], dict[str, Any]]  # [batch, samples] tensor -> model inputs

_KALDI_FRAME_S = 0.025  # Kaldi fbank defaults, which AST's extractor uses
_KALDI_SHIFT_S = 0.010
_KALDI_PREEMPHASIS = 0.97
_KALDI_LOW_HZ = 20.0
_LOG_FLOOR = float(np.finfo(np.float32).eps)  # Kaldi's floor before the log
_DB_AMIN = 1e-10  # torchaudio AmplitudeToDB's floor


@functools.cache
def _mel_banks(n_freqs: int, n_mels: int, low_hz: float, high_hz: float, rate: int, scale: str) -> np.ndarray:
    """``[n_freqs, n_mels]`` triangular filters (Kaldi's triangles are built on the mel axis)."""
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=n_freqs, num_mel_filters=n_mels, min_frequency=low_hz, max_frequency=high_hz,
        sampling_rate=rate, norm=None, mel_scale=scale, triangularize_in_mel_space=scale == "kaldi",
    ).astype(np.float32)


def kaldi_fbank(waveforms: Any, sample_rate: int = 16_000, num_mel_bins: int = 128) -> Any:
    """Kaldi-compatible log mel filter bank, ``[batch, frames, mels]``, as ``torchaudio``'s
    ``compliance.kaldi.fbank`` computes it with AST's settings: 25 ms symmetric Hann frames every
    10 ms without edge padding, DC offset removed, pre-emphasis 0.97, power spectrum of a
    512-point FFT, mel bands from 20 Hz to Nyquist, natural log floored at float32 epsilon."""
    import torch

    frame = int(sample_rate * _KALDI_FRAME_S)
    shift = int(sample_rate * _KALDI_SHIFT_S)
    n_fft = 1 << (frame - 1).bit_length()
    if waveforms.shape[-1] < frame:
        return waveforms.new_zeros((waveforms.shape[0], 0, num_mel_bins))
    frames = waveforms.double().unfold(-1, frame, shift)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    frames = (frames - _KALDI_PREEMPHASIS * previous) * torch.hann_window(
        frame, periodic=False, device=frames.device, dtype=frames.dtype
    )
    power = torch.fft.rfft(frames, n=n_fft).abs().pow(2)
    banks = torch.from_numpy(
        _mel_banks(n_fft // 2 + 1, num_mel_bins, _KALDI_LOW_HZ, sample_rate / 2, sample_rate, "kaldi")
    ).to(power)
    return (power @ banks).clamp_min(_LOG_FLOOR).log().float()


def ast_front_end(extractor: Any) -> FrontEnd:
    """``ASTFeatureExtractor``: Kaldi fbank, zero-padded or cut to ``max_length`` frames, then
    normalised with the AudioSet mean and twice the standard deviation."""
    rate, mels, frames = int(extractor.sampling_rate), int(extractor.num_mel_bins), int(extractor.max_length)
    normalise, mean, std = bool(extractor.do_normalize), float(extractor.mean), float(extractor.std)

    def features(waveforms: Any) -> dict[str, Any]:
        import torch.nn.functional as F

        fbank = kaldi_fbank(waveforms, rate, mels)[:, :frames]
        fbank = F.pad(fbank, (0, 0, 0, frames - fbank.shape[1]))
        if normalise:
            fbank = (fbank - mean) / (std * 2)
        return {"input_values": fbank}

    return features


def ced_front_end(extractor: Any) -> FrontEnd:
    """CED's extractor: ``torchaudio`` MelSpectrogram (periodic Hann, reflect-padded centred
    frames, power, HTK mel without normalisation) then AmplitudeToDB with ``top_db=120``, whose
    floor for a ``[batch, mels, frames]`` input is 120 dB below the loudest value of the batch."""
    rate = int(getattr(extractor, "sampling_rate", getattr(extractor, "sample_rate", 16_000)))
    n_fft, win, hop = int(extractor.n_fft), int(extractor.win_size), int(extractor.hop_size)
    mels = int(getattr(extractor, "n_mels", None) or extractor.feature_size)
    low, high, center = float(extractor.f_min), float(extractor.f_max or rate / 2), bool(extractor.center)

    def features(waveforms: Any) -> dict[str, Any]:
        import torch

        window = torch.hann_window(win, device=waveforms.device, dtype=torch.float64)
        spectrum = torch.stft(waveforms.double(), n_fft, hop_length=hop, win_length=win, window=window,
                              center=center, pad_mode="reflect", return_complex=True).abs().pow(2)
        banks = torch.from_numpy(_mel_banks(n_fft // 2 + 1, mels, low, high, rate, "htk")).to(spectrum)
        db = 10.0 * torch.einsum("bft,fm->bmt", spectrum, banks).clamp_min(_DB_AMIN).log10()
        return {"input_values": torch.maximum(db, db.amax() - 120.0).float()}

    return features


def front_end_for(extractor: Any) -> FrontEnd | None:
    """The batched front end reproducing ``extractor``, or ``None`` for an unknown extractor."""
    name = type(extractor).__name__
    try:
        if name == "ASTFeatureExtractor":
            return ast_front_end(extractor)
        if name == "CedFeatureExtractor":
            return ced_front_end(extractor)
    except (AttributeError, TypeError, ValueError):  # an extractor without the expected settings
        return None
    return None


def largest_difference(ours: dict[str, Any], theirs: dict[str, Any]) -> float:
    """Largest absolute difference between two feature dicts' ``input_values``, relative to the
    extractor's largest magnitude (at least 1); ``inf`` if shapes differ."""
    a, b = ours["input_values"].float().cpu(), theirs["input_values"].float().cpu()
    if a.shape != b.shape:
        return float("inf")
    return float((a - b).abs().max()) / max(1.0, float(b.abs().max()))
