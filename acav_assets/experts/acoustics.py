"""The content-unrelated acoustics expert: measures of *how* a clip was recorded, not *what* is in it.

Level, loudness, clipping, silence, noise, bandwidth and reverberation are cheap signal
statistics that let captions mention recording quality ("a muffled, noisy recording in a
reverberant hall") without a learned model. Everything is plain numpy/scipy, vectorised
over frames, and free of Dagster so it can be unit-tested and reused.

Conventions
-----------
* Input is mono float audio in [-1, 1] as decoded from 16-bit PCM.
* Levels follow AES17: a full-scale sine reads 0 dBFS (so a full-scale square reads +3).
* A constant (DC) offset carries no sound: every measure but peak and clipping is taken on the
  clip minus its mean, so an offset-only clip is silent (as routing, which reads ``is_silent``, has it).
* Levels are floored at -120 dBFS, well below the 16-bit quantisation floor (about -98
  dBFS), so digital silence reads -120 instead of -inf and every level stays finite.
* Measures that need more signal than the clip offers are ``None`` rather than a guess.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import uniform_filter1d
from scipy.signal import get_window

from acav_assets.experts.shard_runner import analyse_shard
from acav_assets.experts.spec import (
    DECODED,
    ExpertOutput,
    ExpertSpec,
    ShardInputs,
    ok_rows,
)
from acav_assets.io.mono_signal import integrated_loudness_lufs, validated_mono
from acav_assets.io.table_fields import described_field as _field

__all__ = ["ACOUSTIC_FIELDS", "is_silent", "measure_acoustics"]

FLOOR_DBFS = -120.0
SILENCE_DBFS = -60.0
# 2 LSB of 16-bit PCM: decoded full scale is 32767/32768 positive, -1 negative.
_CLIP_THRESHOLD = 1.0 - 2.0 / 32768.0

_SILENCE_FRAME_S = 0.020
_SNR_FRAME_S = 0.032
_SNR_NOISE_QUANTILE = 0.10
_SNR_MIN_FRAMES = 10
# Below this the frame powers barely vary, so signal and noise cannot be told apart.
_SNR_MIN_DB = -20.0

_BW_SEGMENT_S = 0.064
_BW_SMOOTH_BINS = 5
_BW_RANGE_DB = 50.0
_BW_MIN_SAMPLES = 32

_ENV_WINDOW_S = 0.020
_ENV_HOP_S = 0.005
_ENV_SMOOTH_S = 0.040
_DECAY_SKIP_DB = 5.0  # skip the rounded corner right after an offset (cf. ISO 3382 T20 from -5 dB)
_DECAY_TAIL_DB = 3.0  # stop short of where the run ends (an onset or the floor smeared in)
_DECAY_FLOOR_MARGIN_DB = 10.0  # and this far above the clip's noise floor, where decays bend flat
_ENV_FLOOR_PERCENTILE = 5.0
_DECAY_MIN_SPAN_DB = 10.0
_DECAY_MIN_POINTS = 4
_RT60_PERCENTILE = 25.0
# A step offset read through the 20 ms window and 40 ms smoothing looks like a ~0.05 s decay;
# estimates below this floor are reported as the floor ("dry, or faster than resolvable").
RT60_FLOOR_S = 0.1


ACOUSTIC_FIELDS: list[pa.Field] = [
    _field("rms_dbfs", pa.float64(), "dBFS",
           "RMS level without the DC offset, AES17 convention (full-scale sine = 0 dBFS), floored at -120 dBFS."),
    _field("peak_dbfs", pa.float64(), "dBFS", "Sample peak level 20*log10(max|x|), floored at -120 dBFS."),
    _field("loudness_lufs", pa.float64(), "LUFS",
           "Integrated loudness, ITU-R BS.1770 (pyloudnorm); null for clips under 0.4 s or fully gated."),
    _field("clipping_ratio", pa.float64(), "fraction",
           "Fraction of samples at or within 2 LSB (16-bit) of full scale."),
    _field("silence_ratio", pa.float64(), "fraction",
           "Fraction of 20 ms frames whose RMS (DC offset removed) is below -60 dBFS."),
    _field("snr_db", pa.float64(), "dB",
           "Blind SNR: noise = mean power of the quietest 10 % of 32 ms frames, signal = mean power - noise. "
           "Assumes stationary noise and a signal that pauses or fluctuates; null when silent or undefined."),
    _field("bandwidth_hz", pa.float64(), "Hz",
           "Highest frequency where the smoothed long-term spectrum is within 50 dB of its maximum; "
           "0 when silent, null for clips under 32 samples."),
    _field("rt60_s", pa.float64(), "s",
           "Blind reverberation time from free decays after offsets (25th percentile of per-decay "
           "60 dB / decay rate), floored at 0.1 s; null when no usable decay (silence, stationary sound)."),
    _field("is_silent", pa.bool_(), "flag",
           "True for digital silence, a constant offset or RMS (DC offset removed) below -60 dBFS."),
]


def measure_acoustics(audio: np.ndarray, sample_rate: int = 16000) -> dict[str, float | bool | None]:
    """All acoustic measures of one mono clip, keyed and ordered as ``ACOUSTIC_FIELDS``.

    Never raises on finite 1-D float input of at least one sample; raises ``ValueError``
    for empty, multi-dimensional, non-float or non-finite input or a bad sample rate.
    Far out-of-range input (|x| above ~1e154, whose power overflows float64) gets ``None``
    for every measure that overflowed instead of inf/NaN.
    """
    # float64 keeps sums of squares and the dB maths exact enough for float32 input.
    x = validated_mono(audio, sample_rate, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        ac = _without_dc(x)
        rms_dbfs = _rms_dbfs(ac)
        silent = bool(rms_dbfs < SILENCE_DBFS)
        peak = float(np.max(np.abs(x)))
        measures = {
            "rms_dbfs": rms_dbfs,
            "peak_dbfs": max(20.0 * math.log10(peak), FLOOR_DBFS) if peak > 0 else FLOOR_DBFS,
            "loudness_lufs": integrated_loudness_lufs(ac, sample_rate),
            "clipping_ratio": float(np.count_nonzero(np.abs(x) >= _CLIP_THRESHOLD)) / x.size,
            "silence_ratio": _silence_ratio(ac, sample_rate),
            # Content measures mean nothing on a silent clip, which is mostly quantisation noise.
            "snr_db": None if silent else _snr_db(ac, sample_rate),
            "bandwidth_hz": _bandwidth_hz(ac, sample_rate, silent),
            "rt60_s": None if silent else _rt60_s(ac, sample_rate),
            "is_silent": silent,
        }
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in measures.items()
    }


def is_silent(audio: np.ndarray, sample_rate: int = 16000) -> bool:
    """The silence rule (``is_silent`` of :func:`measure_acoustics`): RMS below -60 dBFS once the
    DC offset is removed, so digital silence and a constant offset are both silent."""
    x = validated_mono(audio, sample_rate, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(_rms_dbfs(_without_dc(x)) < SILENCE_DBFS)


def _without_dc(x: np.ndarray) -> np.ndarray:
    """``x`` minus its mean: a constant offset is no sound."""
    return x - np.mean(x)


def _rms_dbfs(x: np.ndarray) -> float:
    return _power_dbfs(float(np.mean(np.square(x))))


def _power_dbfs(mean_square: float | np.ndarray) -> float | np.ndarray:
    """Mean square -> AES17 dBFS (x2 so a full-scale sine is 0), floored at -120."""
    floor = 10.0 ** (FLOOR_DBFS / 10.0) / 2.0
    db = 10.0 * np.log10(2.0 * np.maximum(mean_square, floor))
    return float(db) if np.ndim(db) == 0 else db


def _samples(seconds: float, sample_rate: int) -> int:
    return max(1, int(round(seconds * sample_rate)))


def _frame_power(x: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """Mean square of each frame; a clip shorter than one frame is one short frame."""
    if x.size < frame:
        return np.array([np.mean(np.square(x))])
    frames = sliding_window_view(x, frame)[::hop]
    return np.einsum("ij,ij->i", frames, frames) / frame


def _silence_ratio(x: np.ndarray, sample_rate: int) -> float:
    frame = _samples(_SILENCE_FRAME_S, sample_rate)
    powers = _frame_power(x, frame, frame)
    return float(np.mean(_power_dbfs(powers) < SILENCE_DBFS))


def _snr_db(x: np.ndarray, sample_rate: int) -> float | None:
    """Blind SNR from the spread of frame powers.

    The quietest frames are taken as noise only, which holds when the noise is roughly
    stationary and the signal pauses or fluctuates (speech, events). A steady signal
    without pauses has no noise-only frames and reads low or ``None``.
    """
    frame = _samples(_SNR_FRAME_S, sample_rate)
    powers = _frame_power(x, frame, frame)
    if powers.size < _SNR_MIN_FRAMES:
        return None
    k = max(1, int(round(_SNR_NOISE_QUANTILE * powers.size)))
    noise = float(np.mean(np.partition(powers, k - 1)[:k]))
    noise = max(noise, 10.0 ** (FLOOR_DBFS / 10.0) / 2.0)  # exact zeros: cap SNR instead of dividing by 0
    signal = float(np.mean(powers)) - noise
    if signal <= noise * 10.0 ** (_SNR_MIN_DB / 10.0):
        return None
    return 10.0 * math.log10(signal / noise)


def _bandwidth_hz(x: np.ndarray, sample_rate: int, is_silent: bool) -> float | None:
    """Highest frequency the long-term spectrum reaches within 50 dB of its peak.

    Band-limited sources (telephone, low-rate codecs, upsampled audio) end in a cliff
    that this finds; the smoothing stops one stray bin from setting the edge.
    """
    if x.size < _BW_MIN_SAMPLES:
        return None
    if is_silent:
        return 0.0
    nperseg = min(x.size, 2 ** int(round(math.log2(_BW_SEGMENT_S * sample_rate))))
    freqs, psd = _welch_psd(x, sample_rate, nperseg)
    smoothed = uniform_filter1d(psd, size=_BW_SMOOTH_BINS, mode="nearest")
    peak = float(smoothed.max())
    if not math.isfinite(peak):
        return None
    if peak <= 0.0:
        return 0.0
    within = np.flatnonzero(smoothed >= peak * 10.0 ** (-_BW_RANGE_DB / 10.0))
    return float(freqs[within[-1]])


def _welch_psd(x: np.ndarray, sample_rate: int, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch's averaged periodogram, as ``scipy.signal.welch`` with its defaults.

    Hann window, 50 % overlap, per-segment mean removal, one-sided density. Done with one
    batched FFT because scipy's welch transforms segment by segment, which dominated the
    run time of this module.
    """
    hop = nperseg - nperseg // 2
    window = get_window("hann", nperseg)
    segments = sliding_window_view(x, nperseg)[::hop]
    segments = (segments - segments.mean(axis=1, keepdims=True)) * window
    power = np.mean(np.abs(np.fft.rfft(segments, axis=1)) ** 2, axis=0)
    power /= sample_rate * np.sum(window**2)
    # One-sided: double every bin except DC and (for even lengths) Nyquist.
    power[1 : None if nperseg % 2 else -1] *= 2.0
    return np.fft.rfftfreq(nperseg, 1.0 / sample_rate), power


def _rt60_s(x: np.ndarray, sample_rate: int) -> float | None:
    """Blind RT60 from free decays in the dB energy envelope.

    After a sound stops, the room's reverberant energy dies away exponentially, i.e. as a
    straight line in dB. Every run where the smoothed envelope keeps falling is such a
    candidate; a line is fitted to its middle part (skipping the rounded corner after the
    offset and the bend into the noise floor). A room cannot make sound die faster than
    its own decay, while a source that fades by itself decays slower, so a low percentile
    of the per-decay estimates is the robust aggregate.
    """
    window = _samples(_ENV_WINDOW_S, sample_rate)
    hop = _samples(_ENV_HOP_S, sample_rate)
    if x.size < window:
        return None
    env = _power_dbfs(_frame_power(x, window, hop))
    smooth = max(1, int(round(_ENV_SMOOTH_S * sample_rate / hop)))
    env = uniform_filter1d(env, size=smooth, mode="nearest")
    if env.size < _DECAY_MIN_POINTS:
        return None

    # Runs of strictly falling envelope: points starts[i]..ends[i] inclusive.
    falling = np.concatenate(([False], np.diff(env) < 0, [False])).astype(np.int8)
    edges = np.diff(falling)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return None

    # The quietest envelope frames stand in for the noise floor (in gappy clips: the tails' ends).
    floor = float(np.percentile(env, _ENV_FLOOR_PERCENTILE))
    top = env[starts] - _DECAY_SKIP_DB
    bottom = np.maximum(env[ends] + _DECAY_TAIL_DB, floor + _DECAY_FLOOR_MARGIN_DB)
    keep = top - bottom >= _DECAY_MIN_SPAN_DB
    starts, ends, top, bottom = starts[keep], ends[keep], top[keep], bottom[keep]
    if starts.size == 0:
        return None

    # Flatten all runs into (run id, offset in run) to fit every line at once.
    lengths = ends - starts + 1
    run = np.repeat(np.arange(starts.size), lengths)
    offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    level = env[starts[run] + offset]
    use = (level <= top[run]) & (level >= bottom[run])
    run, t, y = run[use], offset[use] * (hop / sample_rate), level[use]

    n = np.bincount(run, minlength=starts.size).astype(np.float64)
    st = np.bincount(run, t, starts.size)
    sy = np.bincount(run, y, starts.size)
    stt = np.bincount(run, t * t, starts.size)
    sty = np.bincount(run, t * y, starts.size)
    denom = n * stt - st * st
    ok = (n >= _DECAY_MIN_POINTS) & (denom > 0)
    slope = (n[ok] * sty[ok] - st[ok] * sy[ok]) / denom[ok]  # dB per second
    slope = slope[slope < 0]
    if slope.size == 0:
        return None
    rt60 = float(np.percentile(-60.0 / slope, _RT60_PERCENTILE))
    return max(rt60, RT60_FLOOR_S)


# Plausible ranges of every acoustic measure, in the units of its schema field.
ACOUSTIC_RANGES = {
    "rms_dbfs": (-120.0, 3.02),  # AES17: a full-scale square wave reads +3.01 dBFS
    "peak_dbfs": (-120.0, 0.0),
    "loudness_lufs": (-120.0, 10.0),
    "clipping_ratio": (0.0, 1.0),
    "silence_ratio": (0.0, 1.0),
    "snr_db": (-30.0, 150.0),
    "bandwidth_hz": (0.0, 8000.0),
    "rt60_s": (0.0, 30.0),
}
SUMMARY_MEASURES = ("rms_dbfs", "loudness_lufs", "snr_db", "bandwidth_hz", "rt60_s")


def acoustics_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Every decoded clip of a shard measured; the shard's medians for the asset's metadata."""
    table = analyse_shard(inputs.audio, inputs.shard, ACOUSTIC_FIELDS, measure_acoustics, workers=inputs.workers,
                          name="acoustics", log=inputs.log)
    ok = ok_rows(table)
    summary = {}
    for name in SUMMARY_MEASURES:
        values = [row[name] for row in ok if row[name] is not None]
        if values:
            summary[f"median_{name}"] = float(sorted(values)[len(values) // 2])
    return ExpertOutput(table, summary)


SPEC = ExpertSpec(
    name="acoustics",
    description="Content-unrelated acoustics of every decoded clip: level (dBFS), loudness (LUFS), clipping, "
    "silence, SNR, effective bandwidth and a blind RT60 estimate.",
    fields=tuple(ACOUSTIC_FIELDS), analyse=acoustics_of_shard, reads=("clips",), coverage=DECODED,
    ranges=ACOUSTIC_RANGES, kinds=frozenset({"parquet", "numpy"}),
    check="Schema, value ranges in their units, one row per decoded clip, failure rate.",
)
