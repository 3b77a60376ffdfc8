"""The speech expert as the pipeline runs it: every clip routed with speech, through the speech models."""

from __future__ import annotations

from collections import Counter
from functools import partial

import numpy as np

from acav_assets.experts.shard_runner import analyse_shard
from acav_assets.experts.spec import ExpertOutput, ExpertSpec, ShardInputs, ok_rows
from acav_assets.experts.speech.analysis import SPEECH_FIELDS, analyse_speech


def _speech_of(vad, asr, gender, audio: np.ndarray, sample_rate: int) -> dict:
    return analyse_speech(audio, vad, asr, gender, sample_rate=sample_rate)


def speech_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """``inputs.model`` is (vad, asr, gender); one clip at a time, as the ASR model is not thread-safe."""
    vad, asr, gender = inputs.model
    table = analyse_shard(inputs.audio, inputs.shard, SPEECH_FIELDS, partial(_speech_of, vad, asr, gender),
                          keys=set(inputs.keys("speech")), workers=1, name="speech", log=inputs.log)
    return ExpertOutput(table, {"languages": dict(Counter(row["language"] for row in ok_rows(table)))})


SPEC = ExpertSpec(
    name="speech",
    description="Speech expert on clips routed to S**: VAD segments, ASR with language and timestamps, speaking "
    "rate, pitch, speaker gender; emotion, age and speaker count only from a configured model (else 'unavailable').",
    fields=tuple(SPEECH_FIELDS), analyse=speech_of_shard, reads=("routing",), coverage="speech",
    model="speech_models", pool="gpu",
    ranges={"speech_ratio": (0.0, 1.0), "speaking_rate_wpm": (0.0, 600.0), "pitch_median_hz": (50.0, 500.0),
            "language_probability": (0.0, 1.0), "gender_confidence": (0.0, 1.0), "voiced_ratio": (0.0, 1.0)},
    value_sets={"gender": ["male", "female", None]},
    check="One row per S** clip; ratios, rates and pitch in plausible ranges; attributes without a model say "
    '"unavailable".',
)
