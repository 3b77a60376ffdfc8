"""The fast music path: one shared spectrogram gives what librosa's separate calls give, and the
vocal separation and sung words run only with singing evidence from the tagger."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import scipy.ndimage

from acav_assets.experts.music import (
    MIN_SINGING_SCORE,
    PartTimes,
    analyse_music,
    analyse_music_and_vocals,
    separate_vocals,
    transcribe_vocals,
)
from acav_assets.experts.music import analysis as music_analysis
from acav_assets.experts.music.hpss import harmonic_mask, median_filter
from acav_assets.experts.music.spectrogram import SharedSpectrogram
from acav_assets.experts.music.tonality import chroma_profile
from acav_assets.experts.speech.asr import Transcript
from acav_assets_tests.experts.test_music import (
    C_MAJOR_I_IV_V_I,
    RATE,
    chord_progression,
    click_track,
    looped_band,
    sung_voice,
)


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    voice, band = sung_voice(), looped_band()
    voice = voice * np.sqrt(np.mean(band**2) / np.mean(voice**2))
    return (0.5 * (voice + band)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Shared spectrogram = librosa's own calls
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [RATE, 44_100])
def test_shared_spectrogram_matches_librosa(rate: int) -> None:
    x = click_track(120, seconds=4.0, rate=rate) + 0.1 * chord_progression(C_MAJOR_I_IV_V_I, 1.0, rate)
    shared = SharedSpectrogram(x, rate)
    expected_envelope = librosa.onset.onset_strength(y=x, sr=rate, hop_length=shared.onset_hop, n_fft=shared.n_fft,
                                                     n_mels=64, fmax=rate / 2)
    np.testing.assert_allclose(shared.onset_envelope, expected_envelope, rtol=1e-4, atol=1e-4)
    # Every second 8 ms frame is the 16 ms-hop STFT.
    np.testing.assert_allclose(shared.coarse, librosa.stft(x, n_fft=shared.n_fft, hop_length=shared.hop), atol=1e-5)


@pytest.mark.parametrize("shape", [(7, 50), (40, 31), (33, 5), (1, 1)])
@pytest.mark.parametrize("width", [1, 3, 31])
def test_median_filter_matches_scipy(shape: tuple[int, int], width: int) -> None:
    rng = np.random.default_rng(sum(shape) + width)
    values = rng.integers(0, 4, shape).astype(np.float32)  # many ties
    for axis, size in ((1, (1, width)), (0, (width, 1))):
        expected = scipy.ndimage.median_filter(values, size=size, mode="reflect")
        np.testing.assert_array_equal(median_filter(values, width, axis=axis), expected)


def test_harmonic_mask_matches_librosa_hpss() -> None:
    shared = SharedSpectrogram(click_track(100) + 0.2 * chord_progression(C_MAJOR_I_IV_V_I, 2.5), RATE)
    expected, _ = librosa.decompose.hpss(shared.magnitude, kernel_size=31, mask=True)
    np.testing.assert_allclose(harmonic_mask(shared.magnitude), expected, atol=1e-6)


@pytest.mark.parametrize("rate", [RATE, 44_100, 8_000])
def test_chroma_matches_librosa_chroma_cqt(rate: int) -> None:
    x = chord_progression(C_MAJOR_I_IV_V_I, 1.5, rate)
    fmin = librosa.note_to_hz("C1")
    n_octaves = min(7, math.floor(math.log2(0.45 * rate / fmin)))
    hop = 1 << round(math.log2(0.032 * rate))
    expected = librosa.feature.chroma_cqt(y=x, sr=rate, hop_length=hop, fmin=fmin, n_octaves=n_octaves,
                                          norm=None).sum(axis=1)
    np.testing.assert_allclose(chroma_profile(x, rate), expected, rtol=1e-4)


def test_known_tempo_and_key_through_the_shared_path() -> None:
    clicks = analyse_music(click_track(120), RATE)
    assert clicks["tempo_bpm"] == pytest.approx(120.0, abs=1.0)
    chords = analyse_music(chord_progression(C_MAJOR_I_IV_V_I), RATE)
    assert (chords["musical_key"], chords["mode"]) == ("C", "major")


# --------------------------------------------------------------------------------------------
# Vocals only with singing evidence
# --------------------------------------------------------------------------------------------


@pytest.fixture
def separations(monkeypatch) -> list[int]:
    """Counts the vocal separations the analysis runs."""
    calls: list[int] = []
    real = music_analysis._vocal_mask

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(music_analysis, "_vocal_mask", counted)
    return calls


@pytest.mark.parametrize("tags", [None, {}, {"Piano": 0.9, "Speech": 0.9}, {"Singing": MIN_SINGING_SCORE - 0.01}])
def test_no_separation_without_singing_evidence(song, separations, tags) -> None:
    result = analyse_music(song, RATE, tags)
    assert separations == []
    assert result["vocal_energy_ratio"] is None and result["has_vocals"] is False
    assert result["vocal_analysis"] == ("no_tags" if tags is None else "no_singing_tags")


def test_separation_with_singing_evidence(song, separations) -> None:
    result = analyse_music(song, RATE, {"Singing": 0.6})
    assert separations == [1]
    assert result["vocal_analysis"] == "separated" and result["vocal_energy_ratio"] > 0.15


@pytest.mark.parametrize("singing", [0.0, 0.2, MIN_SINGING_SCORE - 1e-3, MIN_SINGING_SCORE + 1e-3, 0.5, 0.9])
def test_skipping_the_separation_never_changes_has_vocals(song, singing: float) -> None:
    """has_vocals with the gate equals the blend computed with the separation always run."""
    vocals, _ = separate_vocals(song, RATE)
    energy_ratio = float(np.sum(np.abs(librosa.stft(vocals)) ** 2) / np.sum(np.abs(librosa.stft(song)) ** 2))
    measured = analyse_music(song, RATE, {"Singing": 0.6})["vocal_energy_ratio"]
    assert energy_ratio == pytest.approx(measured, rel=0.2)  # the separated track carries that share
    always_separated = 0.7 * singing + 0.3 * min(measured / 0.3, 1.0) >= 0.5
    assert analyse_music(song, RATE, {"Singing": singing})["has_vocals"] is always_separated


def test_sung_words_only_when_has_vocals(song) -> None:
    heard: list[np.ndarray] = []

    def sung_words(vocals: np.ndarray) -> dict:
        heard.append(vocals)
        return {"transcript": "la la", "language": "en", "speech_seconds": 4.0}

    instrumental = analyse_music_and_vocals(song, RATE, {"Piano": 0.9}, analyse_vocals=sung_words)
    assert heard == [] and instrumental["vocal_transcript"] is None and instrumental["vocal_speech_seconds"] is None
    sung = analyse_music_and_vocals(song, RATE, {"Singing": 0.9}, analyse_vocals=sung_words)
    assert sung["has_vocals"] and sung["vocal_transcript"] == "la la" and sung["vocal_speech_seconds"] == 4.0
    # The words come from the same separated vocals that separate_vocals gives.
    np.testing.assert_allclose(heard[0], separate_vocals(song, RATE)[0], atol=1e-5)


class FakeVad:
    def __init__(self, spans):
        self.spans = spans

    def segments(self, audio, sample_rate=RATE):
        return self.spans


class FakeAsr:
    def __init__(self):
        self.heard: list[np.ndarray] = []

    def transcribe(self, audio, language=None):
        self.heard.append(audio)
        return Transcript("oh yeah", "en", 0.9, [(0.0, 1.0, "oh yeah")], "fake")


def test_transcribe_vocals_runs_asr_on_the_voiced_regions_only() -> None:
    vocals = np.arange(10 * RATE, dtype=np.float32) / (10 * RATE)
    asr = FakeAsr()
    assert transcribe_vocals(vocals, FakeVad([]), asr) == {"transcript": "", "language": None, "speech_seconds": 0.0}
    assert asr.heard == []
    result = transcribe_vocals(vocals, FakeVad([(1.0, 2.0), (2.3, 3.0), (8.0, 9.9)]), asr)
    assert result == {"transcript": "oh yeah", "language": "en", "speech_seconds": 3.6}
    # Regions widened by 0.2 s within the clip, overlaps merged: 0.8-3.2 s and 7.8-10 s.
    expected = np.concatenate([vocals[int(0.8 * RATE):int(3.2 * RATE)], vocals[int(7.8 * RATE):]])
    np.testing.assert_array_equal(asr.heard[0], expected)


def test_part_times_name_each_analysis(song) -> None:
    times = PartTimes()
    analyse_music(song, RATE, {"Piano": 0.5}, times=times)
    assert {"loudness", "stft", "onset", "tempo_beats", "hpss", "key"} <= set(times.wall)
    assert "vocal_separation" not in times.wall
    analyse_music_and_vocals(song, RATE, {"Singing": 0.9}, analyse_vocals=lambda v: {}, times=times)
    assert {"vocal_separation", "sung_words"} <= set(times.cpu)
