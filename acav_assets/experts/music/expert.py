"""The music expert's shard step and spec: clips routed with music, their tagger scores, and
sung words through the speech expert's VAD and ASR models."""

from __future__ import annotations

from functools import partial

from acav_assets.experts.music.analysis import analyse_music_and_vocals
from acav_assets.experts.music.fields import MUSIC_FIELDS, VOCAL_FIELDS
from acav_assets.experts.music.tonality import PITCH_CLASSES
from acav_assets.experts.music.vocals import VOCAL_ANALYSIS_STATES, transcribe_vocals
from acav_assets.experts.shard_runner import analyse_shard
from acav_assets.experts.spec import ExpertOutput, ExpertSpec, ShardInputs, ok_rows
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.experts.tagging.tag_table import label_mids_of

__all__ = ["SPEC", "music_of_shard"]


def _music_of(sung_words, audio, sample_rate: int, tag_scores: dict) -> dict:
    return analyse_music_and_vocals(audio, sample_rate, tag_scores=tag_scores, analyse_vocals=sung_words)


def music_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Every clip routed with music analysed, with its tagger scores; sung words through the
    speech models (``inputs.model`` is the speech expert's (vad, asr, gender); gender is unused)."""
    keys = set(inputs.keys("music"))
    tags_table = inputs.read("tags")
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in label_mids_of(tags_table)]
    clip_kwargs = {
        row["key"]: {"tag_scores": dict(zip(names, row["clip_scores"]))} for row in ok_rows(tags_table) if row["key"] in keys
    }
    vad, asr, _ = inputs.model
    sung_words = partial(transcribe_vocals, vad=vad, asr=asr)
    table = analyse_shard(inputs.audio, inputs.shard, MUSIC_FIELDS + VOCAL_FIELDS, partial(_music_of, sung_words),
                          keys=keys, clip_kwargs=clip_kwargs, workers=inputs.workers, name="music", log=inputs.log)
    return ExpertOutput(table)


SPEC = ExpertSpec(
    name="music",
    description="Music expert on clips routed to *M*: tempo and beat confidence, key and mode, loudness, "
    "harmonic/percussive balance, vocal presence, genre/mood/instrument labels from the AudioSet music subtree; "
    "vocal separation and sung words only when the tagger hears singing.",
    fields=tuple(MUSIC_FIELDS + VOCAL_FIELDS), analyse=music_of_shard, reads=("routing", "tags"), coverage="music",
    model="speech_models", pool="gpu",
    ranges={"tempo_bpm": (30.0, 300.0), "beat_confidence": (0.0, 1.0), "key_confidence": (0.0, 1.0),
            "harmonic_ratio": (0.0, 1.0), "percussive_ratio": (0.0, 1.0), "vocal_presence": (0.0, 1.0)},
    value_sets={"musical_key": [*PITCH_CLASSES, None], "mode": ["major", "minor", None],
                "vocal_analysis": [*VOCAL_ANALYSIS_STATES, None]},
    check="One row per *M* clip; tempo 30-300 BPM, a key from the 12 pitch classes, ratios in [0, 1], "
    "a known vocal_analysis state.",
)
