"""Each asset's ``code_version``: a digest of the core code that computes it and of the settings
that change its output (model ids, prompt version, thresholds). When any of them changes, the
Dagster UI marks the partitions computed before as stale ("code version changed"), so a new
model, prompt or threshold is never silently mixed with old results.

Only what changes an output counts: paths, worker counts and timeouts do not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

# The core modules (or packages) whose code decides each asset's output.
CODE: dict[str, tuple[str, ...]] = {
    "clips": ("acav_assets.ingest", "acav_assets.io.audio_decoding", "acav_assets.io.audio_shards"),
    "acoustics": ("acav_assets.experts.acoustics",),
    "tags": ("acav_assets.experts.tagging",),
    "routing": ("acav_assets.experts.routing",),
    "speech": ("acav_assets.experts.speech",),
    "music": ("acav_assets.experts.music",),
    "sound_events": ("acav_assets.experts.sound_events",),
    "metadata": ("acav_assets.experts.metadata",),
    "lalm_description": ("acav_assets.experts.lalm_description",),
    "evidence": ("acav_assets.experts.evidence",),
    "captions": ("acav_assets.captions",),
    "caption_tokens": ("acav_assets.stats.token_stats",),
    "curated_captions": ("acav_assets.curation.filters", "acav_assets.curation.shard_curation"),
    "corpus_duplicates": ("acav_assets.curation.corpus_dedup",),
    "release": ("acav_assets.curation.release", "acav_assets.curation.corpus_dedup"),
    "dataset_comparison": ("acav_assets.stats",),
    "dataset_stats": ("acav_assets.stats",),
    "caption_benchmark_table": ("acav_assets.evaluation", "acav_assets.stats.figures"),
    "mecat_caption_scores": ("acav_assets.evaluation",),
    "caption_model": ("acav_assets.training",),
    "caption_predictions": ("acav_assets.training",),
    "downstream_scores": ("acav_assets.evaluation.downstream_tasks",),
    "downstream_table": ("acav_assets.evaluation.downstream_tasks",),
}


def source_digest(module: str) -> str:
    """sha256 over the source files of ``module`` (every ``.py`` below it, for a package)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"no module {module!r}")
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(origin.parent).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def output_settings(resources: Mapping[str, object]) -> dict[str, object]:
    """The settings that change each asset's output, from the resources the definitions bind."""
    from acav_assets.captions.prompt import PROMPT_VERSION
    from acav_assets.experts.routing import thresholds_from

    settings, tagger = resources["settings"], resources["tagger"]
    speech, lalm, llm = resources["speech_models"], resources["lalm"], resources["caption_llm"]
    windows = {"clip_seconds": settings.clip_seconds, "min_clip_seconds": settings.min_clip_seconds,
               "max_clip_seconds": settings.max_clip_seconds}
    try:
        thresholds = repr(thresholds_from(settings.model_dump()))
    except (OSError, ValueError) as error:  # an unreadable thresholds file fails the routing run, not the load
        thresholds = f"unreadable: {error}"
    asr = {"profile": speech.profile, "asr_model": speech.asr_model}
    return {
        "clips": windows,
        "tags": {"profile": tagger.profile, "model": tagger.model, "revision": tagger.revision},
        "routing": thresholds,
        "speech": asr,
        "music": asr,  # vocals are transcribed with the speech models
        "lalm_description": {"model": lalm.model},
        "captions": {"prompt_version": PROMPT_VERSION, "model": llm.model if llm.enabled else "offline",
                     "temperature": llm.temperature, "max_tokens": llm.max_tokens},
        "curated_captions": {"max_error_rate": settings.max_error_rate,
                             "decontamination_list": settings.decontamination_list},
        "mecat_caption_scores": {"date_model": settings.date_model, "fluency_checker": settings.fluency_checker},
    }


def code_version(asset: str, resources: Mapping[str, object]) -> str:
    parts = {"code": [source_digest(m) for m in CODE.get(asset, ())],
             "settings": output_settings(resources).get(asset, {})}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def with_code_versions(assets: list, resources: Mapping[str, object]) -> list:
    """``assets`` with each one's code version set."""
    versions = {name: code_version(name, resources) for name in CODE}
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(code_version=versions.get(spec.key.to_user_string())), assets))
