"""Expert assets per shard: tagging, routing, speech, music, sound events, metadata, the LALM
baseline, and the evidence table that joins them. Each reads the shard's audio tar or an
upstream Parquet table and writes its own Parquet table; the analysis lives in the core."""

import collections
import functools

import dagster as dg
import numpy as np

from acav_assets.experts import evidence
from acav_assets.io import storage
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA, STATUS_OK
from acav_assets.experts.shard_runner import TAG_FIELDS, analyse_shard, expert_schema, label_mids_of, tag_shard
from acav_assets.experts.lalm_description import LALM_FIELDS
from acav_assets.experts.metadata import METADATA_FIELDS, analyse_metadata
from acav_assets.experts.music import MUSIC_FIELDS, VOCAL_FIELDS, analyse_music_and_vocals
from acav_assets.experts.routing import ROUTING_FIELDS, ContentGroups, RoutingThresholds, confusion_markdown, confusion_matrix, route_row
from acav_assets.experts.sound_events import SOUND_EVENT_FIELDS, sound_event_row, sound_events
from acav_assets.experts.speech.analysis import SPEECH_FIELDS, analyse_speech
from acav_assets.defs.assets import acoustics_asset, clips, column_schema
from acav_assets.defs.models import LalmResource, SpeechModelsResource, TaggerResource
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import GPU_BOUND, LLM_BOUND, PER_SHARD
from acav_assets.defs.resources import AcavSettings

EXPERT_SCHEMAS = {
    "tags": expert_schema(TAG_FIELDS),
    "routing": expert_schema(ROUTING_FIELDS),
    "speech": expert_schema(SPEECH_FIELDS),
    "music": expert_schema(MUSIC_FIELDS + VOCAL_FIELDS),
    "sound_events": expert_schema(SOUND_EVENT_FIELDS),
    "metadata": expert_schema(METADATA_FIELDS),
    "lalm_description": expert_schema(LALM_FIELDS),
}


def _ok_rows(table) -> list[dict]:
    return [r for r in table.to_pylist() if r["status"] == STATUS_OK]


def _write(settings: AcavSettings, asset: str, shard: str, table, extra: dict | None = None) -> dg.MaterializeResult:
    storage.write_table(table, settings.url(asset, shard))
    failed = sum(s != STATUS_OK for s in table["status"].to_pylist())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "dagster/column_schema": column_schema(table.schema),
            "clips_failed": failed,
            "parquet": dg.MetadataValue.path(settings.url(asset, shard)),
            **(extra or {}),
        }
    )


def _partitioned(**kwargs):
    return dg.asset(partitions_def=shard_partitions, group_name="experts", kinds={"parquet"}, **{**PER_SHARD, **kwargs})


@_partitioned(deps=[clips], **GPU_BOUND,
              description="AudioSet probabilities per 2 s window and per clip (ontology ids in the "
              "Parquet schema metadata `label_mids`), from the profile's tagger.")
def tags(context: dg.AssetExecutionContext, settings: AcavSettings, tagger: TaggerResource) -> dg.MaterializeResult:
    shard = context.partition_key
    model = tagger.load()
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in model.label_mids]
    table = tag_shard(settings.url("audio", shard, "tar"), shard, model, names, log=context.log)
    details = {"tagger": getattr(model, "model_id", type(model).__name__), "labels": len(names)}
    for name in ("device", "precision", "front_end"):  # hub taggers: where and how the model ran
        if hasattr(model, name):
            details[f"tagger_{name}"] = getattr(model, name)
    return _write(settings, "tags", shard, table, details)


@_partitioned(deps=[tags, acoustics_asset],
              description="Each clip's domain (000 00A 0M0 0MA S00 S0A SM0 SMA) from the Speech, "
              "Music and other-sound subtrees of the AudioSet ontology, with per-part time segments. "
              "The metadata compares it with the domain recorded in the manifest.")
def routing(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    import pyarrow as pa

    shard = context.partition_key
    tags_table = storage.read_table(settings.url("tags", shard))
    acoustics = storage.read_table(settings.url("acoustics", shard))
    clips_table = storage.read_table(settings.url("clips", shard), CLIPS_SCHEMA)
    silent = {r["key"]: bool(r["is_silent"]) for r in _ok_rows(acoustics)}
    recorded = dict(zip(clips_table["key"].to_pylist(), clips_table["domain"].to_pylist()))
    groups = ContentGroups.from_labels(label_mids_of(tags_table), load_ontology())
    thresholds = RoutingThresholds(settings.speech_threshold, settings.music_threshold, settings.sound_threshold)
    rows = []
    for row in tags_table.to_pylist():
        out = {"key": row["key"], "shard": shard, "recorded_domain": recorded.get(row["key"])}
        if row["status"] != STATUS_OK:
            out.update(status="error", error=f"no tags: {row['error']}")
        else:
            out.update(route_row(row, groups, thresholds, silent.get(row["key"], False)), status=STATUS_OK)
        rows.append(out)
    table = pa.Table.from_pylist(rows, schema=EXPERT_SCHEMAS["routing"])
    routed = [r for r in rows if r["status"] == STATUS_OK]
    matrix, agreement = confusion_matrix([r["recorded_domain"] for r in routed], [r["domain"] for r in routed])
    counts = collections.Counter(r["domain"] for r in routed)
    extra = {
        "domains": dict(sorted(counts.items())),
        "thresholds": dg.MetadataValue.json(thresholds.__dict__),
        "confusion_matrix": dg.MetadataValue.md(confusion_markdown(matrix)),
    }
    if agreement is not None:
        extra["agreement_with_recorded_domain"] = agreement
        context.log.info("routing agrees with the recorded domain on %.1f %% of clips", 100 * agreement)
    return _write(settings, "routing", shard, table, extra)


def _routed_keys(settings: AcavSettings, shard: str, letter: str, position: int) -> list[str]:
    table = storage.read_table(settings.url("routing", shard))
    return [r["key"] for r in _ok_rows(table) if r["domain"][position] == letter]


@_partitioned(deps=[routing], **GPU_BOUND,
              description="Speech expert on clips routed to S**: VAD segments, ASR with language and "
              "timestamps, speaking rate, pitch, speaker gender; emotion, age and speaker count only "
              "from a configured model (else 'unavailable').")
def speech(context: dg.AssetExecutionContext, settings: AcavSettings,
           speech_models: SpeechModelsResource) -> dg.MaterializeResult:
    shard = context.partition_key
    keys = _routed_keys(settings, shard, "S", 0)
    vad, asr, gender = speech_models.load()
    analyse = functools.partial(_speech_of, vad, asr, gender)
    table = analyse_shard(settings.url("audio", shard, "tar"), shard, SPEECH_FIELDS, analyse, keys=set(keys),
                          workers=1, name="speech", log=context.log)
    languages = collections.Counter(r["language"] for r in _ok_rows(table))
    return _write(settings, "speech", shard, table, {"languages": dict(languages)})


def _speech_of(vad, asr, gender, audio: np.ndarray, sample_rate: int) -> dict:
    return analyse_speech(audio, vad, asr, gender, sample_rate=sample_rate)


@_partitioned(deps=[routing, tags], **GPU_BOUND,
              description="Music expert on clips routed to *M*: tempo and beat confidence, key and "
              "mode, loudness, harmonic/percussive balance, vocal presence, genre/mood/instrument "
              "labels from the AudioSet music subtree; sung words through the speech expert.")
def music(context: dg.AssetExecutionContext, settings: AcavSettings,
          speech_models: SpeechModelsResource) -> dg.MaterializeResult:
    shard = context.partition_key
    keys = set(_routed_keys(settings, shard, "M", 1))
    tags_table = storage.read_table(settings.url("tags", shard))
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in label_mids_of(tags_table)]
    clip_kwargs = {
        r["key"]: {"tag_scores": dict(zip(names, r["clip_scores"]))} for r in _ok_rows(tags_table) if r["key"] in keys
    }
    vad, asr, gender = speech_models.load()
    vocals = functools.partial(analyse_speech, vad=vad, asr=asr, gender=gender)
    analyse = functools.partial(_music_of, vocals)
    table = analyse_shard(settings.url("audio", shard, "tar"), shard, MUSIC_FIELDS + VOCAL_FIELDS, analyse,
                          keys=keys, clip_kwargs=clip_kwargs, workers=settings.workers, name="music", log=context.log)
    return _write(settings, "music", shard, table)


def _music_of(vocals, audio: np.ndarray, sample_rate: int, tag_scores: dict) -> dict:
    return analyse_music_and_vocals(audio, sample_rate, tag_scores=tag_scores, analyse_vocals=vocals)


SOUND_EVENT_THRESHOLD = 0.3


@_partitioned(name="sound_events", deps=[routing, tags],
              description="Sound events on clips routed to **A: AudioSet labels outside speech and "
              f"music with onset/offset merged from 2 s windows (score >= {SOUND_EVENT_THRESHOLD}).")
def sound_events_asset(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    import pyarrow as pa

    shard = context.partition_key
    keys = set(_routed_keys(settings, shard, "A", 2))
    tags_table = storage.read_table(settings.url("tags", shard))
    mids = label_mids_of(tags_table)
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in mids]
    sound_columns = ContentGroups.from_labels(mids, ontology).sound
    rows = []
    for row in _ok_rows(tags_table):
        if row["key"] not in keys:
            continue
        scores = np.asarray(row["window_scores"], dtype=np.float32).reshape(len(row["window_starts_s"]), -1)
        events = sound_events(scores, np.asarray(row["window_starts_s"]), np.asarray(row["window_ends_s"]),
                              mids, names, sound_columns, SOUND_EVENT_THRESHOLD)
        rows.append({"key": row["key"], "shard": shard, **sound_event_row(events, SOUND_EVENT_THRESHOLD),
                     "status": STATUS_OK})
    table = pa.Table.from_pylist(rows, schema=EXPERT_SCHEMAS["sound_events"])
    labels = collections.Counter(label for r in rows for label in r["labels"])
    return _write(settings, "sound_events", shard, table, {"top_labels": dict(labels.most_common(15))})


@_partitioned(name="metadata", deps=[clips],
              description="Source titles, descriptions and tags normalised (entities, URLs, emoji, "
              "control characters, whitespace), length-limited, language-tagged and marked untrusted.")
def metadata_asset(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    import pyarrow as pa

    shard = context.partition_key
    clips_table = storage.read_table(settings.url("clips", shard), CLIPS_SCHEMA)
    rows = []
    for clip in _ok_rows(clips_table):
        row = {"key": clip["key"], "shard": shard}
        try:
            row.update(analyse_metadata(clip["title"], clip["description"], clip["tags"]), status=STATUS_OK)
        except Exception as error:  # recorded per clip
            row.update(status="error", error=f"{type(error).__name__}: {error}")
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=EXPERT_SCHEMAS["metadata"])
    languages = collections.Counter(r.get("language") for r in rows)
    return _write(settings, "metadata", shard, table, {"languages": {str(k): v for k, v in languages.items()}})


@_partitioned(name="lalm_description", deps=[clips], **LLM_BOUND,
              description="Optional free-text description of each clip from an audio-language model "
              "behind an OpenAI-compatible endpoint (ACAV_LALM_BASE_URL, ACAV_LALM_MODEL, "
              "ACAV_LALM_API_KEY). Off unless configured: then the table is empty.")
def lalm_description(context: dg.AssetExecutionContext, settings: AcavSettings, lalm: LalmResource) -> dg.MaterializeResult:
    import pyarrow as pa

    shard = context.partition_key
    if not lalm.enabled:
        context.log.info("LALM baseline not configured (ACAV_LALM_BASE_URL unset): writing an empty table")
        table = pa.Table.from_pylist([], schema=EXPERT_SCHEMAS["lalm_description"])
        return _write(settings, "lalm_description", shard, table, {"enabled": False})
    describer = lalm.load()
    table = analyse_shard(settings.url("audio", shard, "tar"), shard, LALM_FIELDS, _lalm_of(describer),
                          workers=settings.workers, name="lalm", log=context.log)
    # The describer reports its own per-clip status; lift it into the table's status column.
    rows = table.to_pylist()
    for row in rows:
        if row["status"] == STATUS_OK and row["lalm_status"] != STATUS_OK:
            row.update(status="error", error=row["lalm_error"])
    table = pa.Table.from_pylist(rows, schema=EXPERT_SCHEMAS["lalm_description"])
    return _write(settings, "lalm_description", shard, table, {"enabled": True, "model": lalm.model})


def _lalm_of(describer):
    def describe(audio: np.ndarray, sample_rate: int) -> dict:
        return describer.describe(audio, sample_rate)

    return describe


EVIDENCE_EXPERTS = ("acoustics", "routing", "speech", "music", "sound_events", "metadata", "lalm_description")


@_partitioned(name="evidence", deps=[clips, acoustics_asset, tags, routing, speech, music, sound_events_asset,
                                     metadata_asset, lalm_description],
              description="One row per clip joining every expert's output (each a struct with its own "
              "status) with the clip's provenance: what caption synthesis reads.")
def evidence_table(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard = context.partition_key
    clips_table = storage.read_table(settings.url("clips", shard), CLIPS_SCHEMA)
    experts = {name: storage.read_table(settings.url(name, shard)) for name in EVIDENCE_EXPERTS}
    top = storage.read_table(settings.url("tags", shard)).select(["key", "shard", "top_labels", "tagger", "status", "error"])
    experts = {"acoustics": experts.pop("acoustics"), "tagging": top, **experts}
    routed = {r["key"]: r["domain"] for r in _ok_rows(experts["routing"])}
    table = evidence.build_evidence(clips_table, experts, routed)
    failures = collections.Counter(name for names in table["experts_failed"].to_pylist() for name in names)
    storage.write_table(table, settings.url("evidence", shard))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "clips_decoded": sum(s == STATUS_OK for s in table["decode_status"].to_pylist()),
            "expert_failures": dict(failures),
            "parquet": dg.MetadataValue.path(settings.url("evidence", shard)),
        }
    )
