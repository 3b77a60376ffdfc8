"""The speech expert as the pipeline runs it: every clip routed with speech, through the speech models."""

from __future__ import annotations

from collections import Counter
from functools import partial

from acav_assets.experts.shard_runner import analyse_shard_in_groups
from acav_assets.experts.spec import ExpertOutput, ExpertSpec, ShardInputs, ok_rows
from acav_assets.experts.speech.analysis import SPEECH_FIELDS, analyse_speech_many
from acav_assets.io.audio_decoding import TARGET_RATE

# Clips per ASR call: their speech windows are decoded in shared batches.
CLIPS_PER_GROUP = 32


def speech_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """``inputs.model`` is (vad, asr, gender); clips go to the models in groups, one group at a time."""
    vad, asr, gender = inputs.model
    analyse_many = partial(analyse_speech_many, vad=vad, asr=asr, gender=gender, sample_rate=TARGET_RATE)
    table = analyse_shard_in_groups(inputs.audio, inputs.shard, SPEECH_FIELDS, analyse_many,
                                    keys=set(inputs.keys("speech")), group_size=CLIPS_PER_GROUP, name="speech",
                                    log=inputs.log)
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
