"""The tags table: AudioSet scores per 2 s window, per short frame and per clip for every clip of a shard.

Clips are tagged in batches (all their windows in one model call); a batch that fails is retried
clip by clip, so one bad clip cannot sink the others.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pyarrow as pa

from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.experts.shard_runner import expert_schema
from acav_assets.experts.spec import DECODED, ExpertOutput, ExpertSpec, ShardInputs
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.io.audio_decoding import TARGET_RATE
from acav_assets.io.audio_shards import read_audio_shard
from acav_assets.io.progress import ShardProgress

logger = logging.getLogger(__name__)


TOP_LABEL = pa.struct(
    [pa.field("mid", pa.string()), pa.field("label", pa.string()), pa.field("score", pa.float32())]
)
TAG_FIELDS = [
    pa.field("window_starts_s", pa.list_(pa.float64()), metadata={"unit": "s"}),
    pa.field("window_ends_s", pa.list_(pa.float64()), metadata={"unit": "s"}),
    pa.field("window_scores", pa.list_(pa.list_(pa.float32())),
             metadata={"unit": "probability", "description": "[window][label], labels as in label_mids"}),
    pa.field("clip_scores", pa.list_(pa.float32()), metadata={"unit": "probability"}),
    pa.field("frame_starts_s", pa.list_(pa.float64()), metadata={"unit": "s", "description": "0.975 s frames"}),
    pa.field("frame_scores", pa.list_(pa.list_(pa.float32())),
             metadata={"unit": "probability", "description": "[frame][label]: what finds short events in a bed"}),
    pa.field("top_labels", pa.list_(TOP_LABEL), metadata={"description": "the 10 best clip-level labels"}),
    pa.field("tagger", pa.string()),
]


def tag_shard(
    audio_url: str,
    shard: str,
    tagger,
    label_names: list[str],
    window_s: float = 2.0,
    clips_per_batch: int = 32,
    top_k: int = 10,
    log: logging.Logger = logger,
) -> pa.Table:
    """AudioSet scores of every clip in a shard, per ``window_s`` window and for the whole clip.

    Clips are tagged ``clips_per_batch`` at a time (all their windows in one batch) so memory
    stays bounded; a batch that fails is retried clip by clip so one bad clip cannot sink it."""
    from acav_assets.experts.tagging.windows import tag_clips

    schema = expert_schema(TAG_FIELDS).with_metadata({"label_mids": json.dumps(list(tagger.label_mids))})
    tagger_name = getattr(tagger, "model_id", type(tagger).__name__)
    rows: list[dict] = []
    progress = ShardProgress("tagging", log=log)

    def rows_for(batch: list[tuple[str, np.ndarray]]) -> list[dict]:
        results = tag_clips(tagger, [audio for _, audio in batch], window_s=window_s, frames=True)
        out = []
        for (key, audio), tags in zip(batch, results):
            duration = len(audio) / TARGET_RATE
            ends = np.append(tags.window_starts_s[1:], duration)
            best = np.argsort(tags.clip_scores)[::-1][:top_k]
            out.append({
                "key": key, "shard": shard,
                "window_starts_s": tags.window_starts_s.tolist(), "window_ends_s": ends.tolist(),
                "window_scores": tags.window_scores.tolist(), "clip_scores": tags.clip_scores.tolist(),
                "frame_starts_s": tags.frame_starts_s.tolist(), "frame_scores": tags.frame_scores.tolist(),
                "top_labels": [{"mid": tagger.label_mids[i], "label": label_names[i],
                                "score": float(tags.clip_scores[i])} for i in best],
                "tagger": tagger_name, "status": STATUS_OK,
            })
        return out

    def flush(batch: list[tuple[str, np.ndarray]]) -> None:
        try:
            rows.extend(rows_for(batch))
        except Exception:
            for item in batch:  # find the clip that failed; the others keep their tags
                try:
                    rows.extend(rows_for([item]))
                except Exception as error:
                    log.warning("tagging failed on clip %s: %s", item[0], error)
                    rows.append({"key": item[0], "shard": shard, "tagger": tagger_name,
                                 "status": STATUS_ERROR, "error": error_text(error)})
        progress.add(sum(len(audio) for _, audio in batch) / TARGET_RATE, clips=len(batch))

    batch: list[tuple[str, np.ndarray]] = []
    for key, audio, _ in read_audio_shard(audio_url):
        batch.append((key, audio))
        if len(batch) >= clips_per_batch:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    progress.finish(failed=sum(row["status"] != STATUS_OK for row in rows))
    return pa.Table.from_pylist(rows, schema=schema)


def label_mids_of(table: pa.Table) -> list[str]:
    """The label order of a tags table's score vectors."""
    return json.loads(table.schema.metadata[b"label_mids"])


def tags_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Tag a shard with the loaded tagger; the summary says which model ran, where and how."""
    model = inputs.model
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in model.label_mids]
    table = tag_shard(inputs.audio, inputs.shard, model, names, log=inputs.log)
    details = {"tagger": getattr(model, "model_id", type(model).__name__), "labels": len(names)}
    for name in ("device", "precision", "front_end", "int8_kernels"):  # where and how the model ran
        if hasattr(model, name):
            details[f"tagger_{name}"] = getattr(model, name)
    return ExpertOutput(table, details)


def _all_values(value) -> np.ndarray:
    """Every number in a (possibly nested) list cell; NaN for an empty or null cell."""
    if value is None or len(value) == 0:
        return np.array([np.nan])
    return np.concatenate([np.ravel(np.asarray(item, dtype=float)) for item in value])


def score_range(column: str) -> dict:
    """Derived columns with the smallest and largest number in a list column, for range checks."""
    return {
        f"_{column}_min": lambda frame: frame[column].map(lambda v: float(np.min(_all_values(v)))),
        f"_{column}_max": lambda frame: frame[column].map(lambda v: float(np.max(_all_values(v)))),
    }


SCORE_RANGES = {**score_range("window_scores"), **score_range("clip_scores"), **score_range("frame_scores")}

SPEC = ExpertSpec(
    name="tags",
    description="AudioSet probabilities per 2 s window, per 0.975 s frame (every 0.48 s) and per clip (ontology "
    "ids in the Parquet schema metadata `label_mids`), from the profile's tagger.",
    fields=tuple(TAG_FIELDS), analyse=tags_of_shard, reads=("clips",), coverage=DECODED,
    model="tagger", pool="gpu",
    derived=SCORE_RANGES, ranges={name: (0.0, 1.0) for name in SCORE_RANGES},
    check="One row per decoded clip, every window, frame and clip score a probability in [0, 1].",
)
