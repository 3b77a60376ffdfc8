"""Deliberately naive acoustics measures, used only as the slow side of a speed benchmark.

``naive_measure_acoustics`` computes the same quantities as
``acav_assets.experts.acoustics.measure_acoustics`` the straightforward way: Python loops over
frames with a numpy call per frame, a separate librosa feature call per measure, ``scipy.signal.welch``
for the spectrum, a ``np.polyfit`` per decay. Its numbers are in the same ballpark as the vectorised module
but not identical (framing and edge handling differ). Nothing in the pipeline uses it.
"""

from __future__ import annotations

import math

import librosa
import numpy as np
import pyloudnorm
from scipy.signal import welch

FLOOR_DBFS = -120.0


def _dbfs(mean_square: float) -> float:
    if mean_square <= 0:
        return FLOOR_DBFS
    return max(10.0 * math.log10(2.0 * mean_square), FLOOR_DBFS)


def _frame_powers(x: np.ndarray, frame: int, hop: int) -> list[float]:
    if len(x) < frame:
        return [float(np.mean(x**2))]
    powers = []
    for start in range(0, len(x) - frame + 1, hop):
        chunk = x[start : start + frame]
        powers.append(float(np.mean(chunk**2)))
    return powers


def naive_measure_acoustics(audio: np.ndarray, sample_rate: int = 16000) -> dict:
    """Same keys as ``measure_acoustics``, computed with per-frame Python loops."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("audio must be a non-empty finite 1-D array")
    sr = sample_rate

    rms_dbfs = _dbfs(float(np.mean(x**2)))
    is_silent = rms_dbfs < -60.0

    peak = 0.0
    clipped = 0
    block = max(1, int(0.02 * sr))
    for start in range(0, len(x), block):
        chunk = np.abs(x[start : start + block])
        peak = max(peak, float(np.max(chunk)))
        clipped += int(np.sum(chunk >= 1.0 - 2.0 / 32768.0))
    peak_dbfs = max(20.0 * math.log10(peak), FLOOR_DBFS) if peak > 0 else FLOOR_DBFS

    loudness = None
    meter = pyloudnorm.Meter(sr)
    if len(x) >= meter.block_size * sr:
        value = float(meter.integrated_loudness(x))
        loudness = value if math.isfinite(value) else None

    frame = max(1, int(0.02 * sr))
    if len(x) >= frame:
        rms_frames = librosa.feature.rms(y=x, frame_length=frame, hop_length=frame, center=False)[0]
    else:
        rms_frames = np.array([math.sqrt(float(np.mean(x**2)))])
    silent_frames = 0
    for value in rms_frames:
        if _dbfs(float(value) ** 2) < -60.0:
            silent_frames += 1
    silence_ratio = silent_frames / len(rms_frames)

    snr_db = None if is_silent else _naive_snr(x, sr)
    bandwidth_hz = _naive_bandwidth(x, sr, is_silent)
    rt60_s = None if is_silent else _naive_rt60(x, sr)

    return {
        "rms_dbfs": rms_dbfs,
        "peak_dbfs": peak_dbfs,
        "loudness_lufs": loudness,
        "clipping_ratio": clipped / len(x),
        "silence_ratio": silence_ratio,
        "snr_db": snr_db,
        "bandwidth_hz": bandwidth_hz,
        "rt60_s": rt60_s,
        "is_silent": is_silent,
    }


def _naive_snr(x: np.ndarray, sr: int) -> float | None:
    frame = max(1, int(0.032 * sr))
    if len(x) < 10 * frame:
        return None
    rms = librosa.feature.rms(y=x, frame_length=frame, hop_length=frame, center=False)[0]
    powers = sorted(float(r) ** 2 for r in rms)
    count = max(1, round(0.1 * len(powers)))
    noise = max(sum(powers[:count]) / count, 0.5e-12)
    signal = sum(powers) / len(powers) - noise
    if signal <= 0.01 * noise:
        return None
    return 10.0 * math.log10(signal / noise)


def _naive_bandwidth(x: np.ndarray, sr: int, is_silent: bool) -> float | None:
    if len(x) < 32:
        return None
    if is_silent:
        return 0.0
    freqs, psd = welch(x, fs=sr, nperseg=min(len(x), 1024))
    average = [float(value) for value in psd]
    smoothed = []
    for i in range(len(average)):
        window = average[max(0, i - 2) : i + 3]
        smoothed.append(sum(window) / len(window))
    peak = max(smoothed)
    if peak <= 0:
        return 0.0
    for i in range(len(smoothed) - 1, -1, -1):
        if smoothed[i] >= peak * 1e-5:
            return float(freqs[i])
    return 0.0


def _naive_rt60(x: np.ndarray, sr: int) -> float | None:
    window, hop = max(1, int(0.02 * sr)), max(1, int(0.005 * sr))
    if len(x) < window:
        return None
    env = [_dbfs(p) for p in _frame_powers(x, window, hop)]
    half = 4
    smooth = []
    for i in range(len(env)):
        part = env[max(0, i - half) : i + half]
        smooth.append(sum(part) / len(part))
    floor = float(np.percentile(smooth, 5))

    estimates = []
    i = 0
    while i < len(smooth) - 1:
        if smooth[i + 1] >= smooth[i]:
            i += 1
            continue
        start = i
        while i < len(smooth) - 1 and smooth[i + 1] < smooth[i]:
            i += 1
        top = smooth[start] - 5.0
        bottom = max(smooth[i] + 3.0, floor + 10.0)
        if top - bottom < 10.0:
            continue
        times, levels = [], []
        for j in range(start, i + 1):
            if bottom <= smooth[j] <= top:
                times.append((j - start) * hop / sr)
                levels.append(smooth[j])
        if len(times) >= 4:
            slope = np.polyfit(times, levels, 1)[0]
            if slope < 0:
                estimates.append(-60.0 / slope)
    if not estimates:
        return None
    return max(float(np.percentile(estimates, 25)), 0.1)
