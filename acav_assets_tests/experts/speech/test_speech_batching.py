"""Batched speech recognition: many clips per call give the same text as one clip per call,
language ID runs once per clip, the temperature fallback runs, and a bad clip fails alone."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest

from acav_assets.experts.shard_runner import analyse_shard_in_groups
from acav_assets.experts.speech.analysis import (
    SPEECH_FIELDS,
    analyse_speech,
    analyse_speech_many,
)
from acav_assets.experts.speech.asr import (
    BatchSpeechRecognizer,
    Transcript,
    WhisperRecognizer,
)
from acav_assets.experts.speech.vad import SileroVad
from acav_assets.experts.speech.whisper_batch import DecodeSettings, split_windows
from acav_assets.io.audio_shards import AudioShardWriter, encode_flac
from acav_assets_tests.experts.speech.test_speech import (
    EN_MAX_WER,
    EN_TEXT,
    FR_MAX_WER,
    FR_TEXT,
    RATE,
    padded,
    speak,
    wer,
)

GERMAN = "Heute Abend gibt es in der Altstadt ein kleines Konzert."


@pytest.fixture(scope="module")
def asr(tmp_path_factory) -> WhisperRecognizer:
    return WhisperRecognizer.packaged_base(cache_dir=tmp_path_factory.mktemp("asr"), device="cpu")


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    return {"en": speak(EN_TEXT, "en-us"), "fr": speak(FR_TEXT, "fr-fr"), "de": speak(GERMAN, "de")}


def counting(method, calls: list):
    def wrapper(*args, **kwargs):
        calls.append((args, kwargs))
        return method(*args, **kwargs)

    return wrapper


def test_batched_transcripts_equal_one_clip_at_a_time(asr, speech):
    assert isinstance(asr, BatchSpeechRecognizer)
    clips = [speech["en"], speech["fr"], speech["de"], speech["en"][: speech["en"].size // 2]]
    together = asr.transcribe_many(clips)
    alone = [asr.transcribe(clip) for clip in clips]
    assert [t.text for t in together] == [t.text for t in alone]
    assert [t.language for t in together] == ["en", "fr", "de", "en"]
    assert [t.segments for t in together] == [t.segments for t in alone]
    assert wer(EN_TEXT, together[0].text) <= EN_MAX_WER, together[0].text
    assert wer(FR_TEXT, together[1].text) <= FR_MAX_WER, together[1].text


def test_full_encoder_window_reads_the_same_speech(tmp_path, speech):
    full = WhisperRecognizer.packaged_base(cache_dir=tmp_path, device="cpu",
                                           settings=DecodeSettings(encoder_window="full"))
    [result] = full.transcribe_many([speech["en"]])
    assert result.language == "en" and wer(EN_TEXT, result.text) <= EN_MAX_WER, result.text


def test_language_is_identified_once_per_clip(asr, speech, monkeypatch):
    calls: list = []
    monkeypatch.setattr(asr._decoder, "_identify", counting(asr._decoder._identify, calls))
    long = np.concatenate([speech["en"], np.zeros(RATE // 2, np.float32)] * 5)  # two windows
    assert len(split_windows(long)) == 2
    results = asr.transcribe_many([long, speech["fr"], speech["de"]])
    assert sum(len(args[1]) for args, _ in calls) == 3  # three clips, four windows
    assert [r.language for r in results] == ["en", "fr", "de"]
    assert wer(" ".join([EN_TEXT] * 5), results[0].text) <= EN_MAX_WER, results[0].text

    calls.clear()
    given = asr.transcribe_many([speech["fr"], speech["en"]], languages=["fr", "en"])
    assert calls == [] and [(r.language, r.language_probability) for r in given] == [("fr", 1.0), ("en", 1.0)]


def test_temperature_fallback_runs_for_windows_that_fail_the_thresholds(tmp_path, speech, monkeypatch):
    # No real text reaches a mean log-probability of 0, so every temperature is tried.
    strict = WhisperRecognizer.packaged_base(cache_dir=tmp_path, device="cpu",
                                             settings=DecodeSettings(log_prob_threshold=0.0, no_speech_threshold=None))
    calls: list = []
    monkeypatch.setattr(strict._decoder, "_generate", counting(strict._decoder._generate, calls))
    [result] = strict.transcribe_many([speech["en"]])
    assert [args[3] for args, _ in calls] == list(DecodeSettings().temperatures)
    assert result.text  # the most likely attempt is kept

    calls.clear()
    asr_default = WhisperRecognizer(strict.model, strict.model_name)
    monkeypatch.setattr(asr_default._decoder, "_generate", counting(asr_default._decoder._generate, calls))
    asr_default.transcribe_many([speech["en"]])
    assert [args[3] for args, _ in calls] == [0.0]  # clear speech passes greedily


def test_split_windows_cuts_long_speech_at_quiet_points():
    rng = np.random.default_rng(0)
    loud = lambda s: (0.3 * rng.standard_normal(int(s * RATE))).astype(np.float32)
    quiet = np.zeros(RATE // 2, np.float32)
    audio = np.concatenate([loud(24.0), quiet, loud(20.0), quiet, loud(10.0)])
    pieces = split_windows(audio)
    assert np.array_equal(np.concatenate([piece for _, piece in pieces]), audio)
    assert all(piece.size <= 30 * RATE for _, piece in pieces)
    assert 24.0 <= pieces[1][0] <= 24.5  # cut inside the first pause
    assert [offset for offset, _ in pieces] == sorted(offset for offset, _ in pieces)


class FailingAtFullScaleRecognizer:
    """Fails a batch holding a clip that reaches full scale, and that clip when given alone."""

    model_name = "picky"

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        if np.abs(audio).max() > 0.95:
            raise RuntimeError("this clip breaks the recognizer")
        return Transcript("fine", "en", 1.0, [(0.0, audio.size / RATE, "fine")], self.model_name)

    def transcribe_many(self, audios, languages=None) -> list[Transcript]:
        if any(np.abs(audio).max() > 0.95 for audio in audios):
            raise RuntimeError("the batch failed")
        return [self.transcribe(audio) for audio in audios]


def at_peak(audio: np.ndarray, peak: float) -> np.ndarray:
    return np.clip(audio * (2 * peak / np.abs(audio).max()), -peak, peak).astype(np.float32)


def test_a_bad_clip_fails_alone(vad, speech):
    good = padded(at_peak(speech["en"], 0.3))
    loud = padded(at_peak(speech["fr"], 0.99))
    results = analyse_speech_many([good, np.array([0.0, np.nan], np.float32), loud, good], vad,
                                  FailingAtFullScaleRecognizer())
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], RuntimeError) and "breaks" in str(results[2])
    assert results[0]["transcript"] == results[3]["transcript"] == "fine"
    assert results[0] == analyse_speech(good, vad, FailingAtFullScaleRecognizer())


def test_shard_groups_record_each_clips_failure(tmp_path, vad, speech):
    url = str(tmp_path / "shard.tar")
    clips = {"a": padded(at_peak(speech["en"], 0.5)), "b": padded(at_peak(speech["fr"], 0.99)),
             "c": np.zeros(RATE, np.float32), "d": padded(at_peak(speech["de"], 0.5))}
    with AudioShardWriter(url) as writer:
        for key, audio in clips.items():
            writer.add(key, encode_flac(audio), {})
    sizes: list[int] = []

    def analyse_many(audios):
        sizes.append(len(audios))
        return analyse_speech_many(audios, vad, FailingAtFullScaleRecognizer())

    table = analyse_shard_in_groups(url, "s", SPEECH_FIELDS, analyse_many, group_size=3, progress_every_s=1e9)
    rows = {row["key"]: row for row in table.to_pylist()}
    assert sizes == [3, 1] and set(rows) == set(clips)
    assert rows["b"]["status"] == "error" and "breaks" in rows["b"]["error"]
    assert [rows[k]["status"] for k in "acd"] == ["ok"] * 3
    assert rows["c"]["transcript"] == "" and rows["d"]["transcript"] == "fine"
