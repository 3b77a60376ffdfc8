"""Known-answer tests for the acoustics expert on synthetic signals with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import signal

from acav_assets.experts.acoustics import ACOUSTIC_FIELDS, is_silent, measure_acoustics

SR = 16000
DURATION_S = 10.0


def _time(seconds: float = DURATION_S) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _normalise(x: np.ndarray, peak: float = 0.5) -> np.ndarray:
    return (x * (peak / np.max(np.abs(x)))).astype(np.float32)


def _gated_harmonic_tone(seed: int = 5) -> np.ndarray:
    """A 220 Hz harmonic tone switched on and off (random 0.2-0.6 s spans, ~50 % on)."""
    rng = np.random.default_rng(seed)
    t = _time()
    gate = np.zeros(t.size)
    start = 0
    while start < t.size:
        on = int(rng.uniform(0.2, 0.6) * SR)
        gate[start : start + on] = 1.0
        start += on + int(rng.uniform(0.2, 0.6) * SR)
    ramp = np.hanning(int(0.02 * SR))
    gate = np.convolve(gate, ramp / ramp.sum(), mode="same")  # click-free 20 ms ramps
    tone = sum(np.sin(2 * np.pi * 220 * k * t + k) / k for k in range(1, 6))
    return tone * gate


def _noise_bursts(seed: int = 1, burst_s: float = 0.2, period_s: float = 1.25) -> np.ndarray:
    """Short white-noise bursts with abrupt offsets and long gaps (room for free decays)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(DURATION_S * SR))
    burst, period = int(burst_s * SR), int(period_s * SR)
    for start in range(0, x.size - burst, period):
        x[start : start + burst] = rng.standard_normal(burst)
    return x


def _reverberate(dry: np.ndarray, rt60_s: float, seed: int = 2) -> np.ndarray:
    """Convolve with exponentially decaying noise whose energy falls 60 dB in rt60_s."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(1.5 * rt60_s * SR)) / SR
    impulse_response = rng.standard_normal(t.size) * 10.0 ** (-3.0 * t / rt60_s)
    wet = signal.fftconvolve(dry, impulse_response)[: dry.size]
    return _normalise(wet)


def _with_dither(x: np.ndarray, seed: int = 9) -> np.ndarray:
    """Add a 16-bit-like noise floor (1 LSB RMS) so gaps are not exact digital zeros."""
    rng = np.random.default_rng(seed)
    return (x + rng.standard_normal(x.size) / 32768.0).astype(np.float32)


def _white_noise(seed: int = 0, scale: float = 0.1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(DURATION_S * SR)) * scale


def test_sine_levels():
    amplitude = 10.0 ** (-6.0 / 20.0)
    sine = (amplitude * np.sin(2 * np.pi * 1000.0 * _time(5.0))).astype(np.float32)
    m = measure_acoustics(sine, SR)
    assert m["peak_dbfs"] == pytest.approx(-6.0, abs=0.1)
    assert m["rms_dbfs"] == pytest.approx(-6.0, abs=0.1)  # AES17: a sine's RMS reads as its peak
    assert m["clipping_ratio"] == 0.0
    assert m["silence_ratio"] == 0.0
    assert m["loudness_lufs"] is not None and math.isfinite(m["loudness_lufs"])
    assert m["loudness_lufs"] == pytest.approx(-9.0, abs=0.5)  # BS.1770: 0 dBFS 1 kHz mono sine = -3 LUFS
    assert m["is_silent"] is False


@pytest.mark.parametrize("true_snr_db", [10.0, 20.0])
def test_snr_of_known_added_noise(true_snr_db: float):
    clean = _gated_harmonic_tone()
    noise = np.random.default_rng(3).standard_normal(clean.size)
    noise *= math.sqrt(np.mean(clean**2) / 10.0 ** (true_snr_db / 10.0)) / noise.std()
    m = measure_acoustics(_normalise(clean + noise), SR)
    print(f"true SNR {true_snr_db} dB -> estimated {m['snr_db']:.2f} dB")
    assert m["snr_db"] == pytest.approx(true_snr_db, abs=3.0)


def test_snr_undefined_for_a_steady_tone():
    sine = (0.5 * np.sin(2 * np.pi * 1000.0 * _time())).astype(np.float32)
    assert measure_acoustics(sine, SR)["snr_db"] is None


def test_clipping():
    t = _time(2.0)
    clipped = np.clip(2.0 * np.sin(2 * np.pi * 440.0 * t), -1.0, 1.0).astype(np.float32)
    clean = (0.9 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    assert measure_acoustics(clipped, SR)["clipping_ratio"] > 0.3
    assert measure_acoustics(clean, SR)["clipping_ratio"] == 0.0


def test_bandwidth_of_lowpassed_and_full_band_noise():
    noise = _white_noise()
    # A steep elliptic low-pass, like the anti-alias filter of a resampler or codec. A gentle
    # Butterworth is only 50 dB down well above its cutoff (order 8 filtfilt: ~4.9 kHz).
    sos = signal.ellip(10, 0.1, 80, 4000, fs=SR, output="sos")
    lowpassed = measure_acoustics(_normalise(signal.sosfiltfilt(sos, noise)), SR)["bandwidth_hz"]
    full_band = measure_acoustics(_normalise(noise), SR)["bandwidth_hz"]
    butter = signal.butter(8, 4000, fs=SR, output="sos")
    gentle = measure_acoustics(_normalise(signal.sosfiltfilt(butter, noise)), SR)["bandwidth_hz"]
    print(f"bandwidth: lowpass 4 kHz {lowpassed} Hz, butter8 {gentle} Hz, full band {full_band} Hz")
    assert lowpassed == pytest.approx(4000.0, abs=400.0)
    assert full_band > 7000.0
    assert lowpassed < gentle < full_band


def test_rt60_dry_versus_reverberant():
    dry = _noise_bursts()
    estimates = {
        "dry": measure_acoustics(_with_dither(_normalise(dry)), SR)["rt60_s"],
        **{rt: measure_acoustics(_with_dither(_reverberate(dry, rt)), SR)["rt60_s"] for rt in (0.4, 0.8, 1.6)},
    }
    print(f"rt60 estimates: {estimates}")
    wet_04, wet_08, wet_16 = estimates[0.4], estimates[0.8], estimates[1.6]
    assert wet_08 is not None and 0.3 <= wet_08 <= 1.5
    assert estimates["dry"] is None or estimates["dry"] < wet_08
    assert wet_04 is not None and wet_16 is not None
    assert wet_04 < wet_08 < wet_16


def test_rt60_undefined_for_stationary_noise():
    assert measure_acoustics(_normalise(_white_noise()), SR)["rt60_s"] is None


def test_gain_independence():
    clean = _gated_harmonic_tone()
    noise = np.random.default_rng(4).standard_normal(clean.size) * 0.1 * np.std(clean)
    reverberant = _with_dither(_reverberate(_noise_bursts(), 0.8))
    for clip in (_normalise(clean + noise), reverberant):
        loud, quiet = measure_acoustics(clip, SR), measure_acoustics(clip * np.float32(0.5), SR)
        for key in ("snr_db", "rt60_s", "bandwidth_hz"):
            if loud[key] is None:
                assert quiet[key] is None, key
            elif key == "snr_db":
                assert quiet[key] == pytest.approx(loud[key], abs=0.5), key
            else:
                assert quiet[key] == pytest.approx(loud[key], rel=0.05), key
        assert quiet["rms_dbfs"] == pytest.approx(loud["rms_dbfs"] - 6.02, abs=0.01)


def test_digital_silence():
    m = measure_acoustics(np.zeros(int(DURATION_S * SR), dtype=np.float32), SR)
    assert m["is_silent"] is True
    assert m["rms_dbfs"] == -120.0
    assert m["peak_dbfs"] == -120.0
    assert m["loudness_lufs"] is None
    assert m["snr_db"] is None
    assert m["bandwidth_hz"] == 0.0
    assert m["rt60_s"] is None
    assert m["silence_ratio"] == 1.0


def test_quiet_clip_is_silent():
    assert measure_acoustics(_normalise(_white_noise(), peak=1e-4), SR)["is_silent"] is True


def test_a_constant_offset_is_silence():
    """A DC offset carries no sound: silent, as routing has it; the peak still shows it."""
    m = measure_acoustics(np.full(int(5 * SR), 0.3, dtype=np.float32), SR)
    assert m["is_silent"] is True and is_silent(np.full(int(5 * SR), 0.3, dtype=np.float32), SR) is True
    assert (m["rms_dbfs"], m["silence_ratio"], m["loudness_lufs"], m["bandwidth_hz"]) == (-120.0, 1.0, None, 0.0)
    assert m["peak_dbfs"] == pytest.approx(20 * math.log10(0.3), abs=1e-3)


def test_an_offset_does_not_change_a_quiet_tone():
    tone = 0.01 * np.sin(2 * np.pi * 440 * _time(5.0))
    plain, offset = measure_acoustics(tone.astype(np.float32), SR), measure_acoustics((tone + 0.3).astype(np.float32), SR)
    assert plain["is_silent"] is offset["is_silent"] is False and is_silent((tone + 0.3).astype(np.float32), SR) is False
    for key in ("rms_dbfs", "silence_ratio", "loudness_lufs", "bandwidth_hz"):
        assert offset[key] == pytest.approx(plain[key], abs=0.01), key


@pytest.mark.parametrize("length", [1, 2, 31, 100, 319, 6399, 6400])
def test_tiny_clips_do_not_raise(length: int):
    clip = np.random.default_rng(length).uniform(-0.5, 0.5, length).astype(np.float32)
    m = measure_acoustics(clip, SR)
    assert list(m) == [f.name for f in ACOUSTIC_FIELDS]
    assert math.isfinite(m["rms_dbfs"]) and math.isfinite(m["peak_dbfs"])
    if length < 0.4 * SR:
        assert m["loudness_lufs"] is None
    if length < 32:
        assert m["bandwidth_hz"] is None


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.array([], dtype=np.float32), "empty"),
        (np.array([0.1, np.nan, 0.2], dtype=np.float32), "NaN"),
        (np.array([0.1, np.inf], dtype=np.float32), "infinite"),
        (np.zeros((2, 100), dtype=np.float32), "1-D"),
        (np.zeros(100, dtype=np.int16), "float"),
    ],
)
def test_invalid_input_raises(audio: np.ndarray, message: str):
    with pytest.raises(ValueError, match=message):
        measure_acoustics(audio, SR)


def test_invalid_sample_rate_raises():
    with pytest.raises(ValueError, match="sample_rate"):
        measure_acoustics(np.zeros(100, dtype=np.float32), 0)


def test_fields_match_result():
    names = [f.name for f in ACOUSTIC_FIELDS]
    assert names == [
        "rms_dbfs", "peak_dbfs", "loudness_lufs", "clipping_ratio", "silence_ratio",
        "snr_db", "bandwidth_hz", "rt60_s", "is_silent",
    ]
    for field in ACOUSTIC_FIELDS:
        assert field.metadata[b"unit"], field.name
        assert field.metadata[b"description"], field.name
    rows = [measure_acoustics(_normalise(_white_noise()), SR), measure_acoustics(np.zeros(10, np.float32), SR)]
    assert [list(row) for row in rows] == [names, names]
    table = pa.Table.from_pylist(rows, schema=pa.schema(ACOUSTIC_FIELDS))
    assert table.num_rows == 2


def test_batched_welch_matches_scipy():
    from acav_assets.experts.acoustics import _welch_psd

    x = np.random.default_rng(7).standard_normal(20000) + 0.3
    for nperseg in (1024, 999):
        expected_freqs, expected_psd = signal.welch(x, fs=SR, nperseg=nperseg)
        freqs, psd = _welch_psd(x, SR, nperseg)
        np.testing.assert_allclose(freqs, expected_freqs)
        np.testing.assert_allclose(psd, expected_psd, rtol=1e-10)
