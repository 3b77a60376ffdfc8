"""The resources every asset shares: the settings and the models. This module is the only place
that reads the environment: ``ACAV_*`` variables override the defaults when the code location
loads. Settings that run commands or decide where requests (and their keys) go, the training
launcher, the LLM and LALM endpoints and the names of their key variables, are read from the
environment at run time only: they are not resource fields, so no run config from the launchpad
can set them."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from acav_assets.contracts.layout import DataLayout, normalise_root
from acav_assets.experts.spec import ShardInputs

PROFILES = ("lite", "paper")


def _env(name: str, default):
    value = os.environ.get(name)
    return default if value in (None, "") else type(default)(value)


def _profile() -> str:
    return os.environ.get("ACAV_PROFILE", "lite")


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)} (ACAV_PROFILE)")


class AcavSettings(dg.ConfigurableResource):
    """Where data lives and how the corpus is cut and checked."""

    data_root: str = "acav_data"  # a local folder or any fsspec URL (s3://, gs://)
    profile: str = "lite"
    dataset_name: str = "acav"
    clip_seconds: float = 10.0
    min_clip_seconds: float = 1.0
    max_clip_seconds: float = 30.0
    shard_size: int = 1000
    max_error_rate: float = 0.1
    workers: int = 2
    # Routing: a part is present when its best 2 s window reaches this tagger probability.
    speech_threshold: float = 0.5  # the fitted defaults of experts.routing.RoutingThresholds
    music_threshold: float = 0.34
    sound_threshold: float = 0.19
    # A JSON file from `acav-assets calibrate`; when set, it gives all the routing thresholds
    # and the three above are ignored.
    routing_thresholds_file: str = ""
    duckdb_path: str = ""
    manifests_dir: str = ""
    # The nightly backfill schedule requests at most this many shard runs per tick (ACAV_MAX_SHARDS_PER_TICK).
    max_shards_per_tick: int = 200
    # MECAT-Caption benchmark (hub dataset mispeech/MECAT-Caption): the reference JSON lines and
    # the audio WebDataset shards (a folder, glob or brace pattern).
    mecat_references: str = ""
    mecat_audio: str = ""
    # DATE text encoder: "" = the profile's default (lite: the packaged all-MiniLM-L6-v2; paper:
    # paraphrase-TinyBERT-L6-v2 from the hub), "packaged", or a sentence-transformers id or folder.
    date_model: str = ""
    # FENSE error checker checkpoint (echecker_clotho_audiocaps_base.ckpt) for DATE's fluency
    # penalty; "" = no penalty.
    fluency_checker: str = ""
    # A file of source ids or clip keys (one per line) that curation drops: benchmark clips that
    # must not leak into training data.
    decontamination_list: str = ""
    # Published caption datasets for Table 1, ';'-separated NAME=FORMAT:PATH
    # (e.g. MECAT=acav:/data/mecat/caption/train).
    compare_datasets: str = ""

    @classmethod
    def from_env(cls, **overrides) -> AcavSettings:
        """Defaults, then ACAV_DATA_ROOT, ACAV_SHARD_SIZE ... from the environment, then overrides."""
        defaults = {name: info.default for name, info in cls.model_fields.items()}
        values = {name: _env(f"ACAV_{name.upper()}", default) for name, default in defaults.items()}
        values["data_root"] = normalise_root(values["data_root"])
        values.update(overrides)
        return cls(**values)

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_root)

    @property
    def database(self) -> str:
        """The DuckDB file (always local: DuckDB cannot write to an object store)."""
        return self.duckdb_path or self.layout.warehouse()

    @property
    def manifests(self) -> str:
        return self.manifests_dir or self.layout.manifests

    @property
    def comparison_specs(self) -> list[str]:
        return [spec.strip() for spec in self.compare_datasets.split(";") if spec.strip()]

    @property
    def training_launcher(self) -> str:
        """The command that runs training out of process (ACAV_TRAINING_LAUNCHER), or "" to train in
        the step's own process. Read from the environment only; see :func:`launcher_command`."""
        text = os.environ.get("ACAV_TRAINING_LAUNCHER", "")
        launcher_command(text)  # refuses a program that is not a launcher
        return text

    def shard_inputs(self, shard: str, log, model: Any = None) -> ShardInputs:
        """What an expert reads for ``shard``: the layout, these settings as plain values, its model."""
        return ShardInputs(shard=shard, layout=self.layout, settings=self.model_dump(), model=model, log=log)


# Programs a training launcher may start (argument lists, never a shell).
LAUNCHERS = ("python", "python3", "accelerate", "torchrun")


def launcher_command(text: str) -> list[str]:
    """A launcher setting split into arguments, e.g. ``accelerate launch --num_processes 8``;
    ``python`` is this environment's interpreter. Only the programs in LAUNCHERS may be started."""
    command = shlex.split(text)
    if not command:
        return []
    if Path(command[0]).name not in LAUNCHERS:
        raise ValueError(f"ACAV_TRAINING_LAUNCHER starts {command[0]!r}; allowed: {', '.join(LAUNCHERS)}")
    return [sys.executable, *command[1:]] if command[0] in ("python", "python3") else command


@functools.cache
def _tagger(profile: str, model: str, revision: str, precision: str = "auto"):
    from acav_assets.experts.tagging import hub_tagger
    from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger

    _check_profile(profile)
    if profile == "lite" and not model:
        return YamnetTagger()
    return hub_tagger.HubAudioTagger.from_pretrained(
        model or hub_tagger.CED_BASE_MODEL_ID, revision=revision or (None if model else hub_tagger.CED_BASE_REVISION),
        trust_remote_code=True, precision=precision,
    )


class TaggerResource(dg.ConfigurableResource):
    """AudioSet tagger: packaged YAMNet (lite) or CED-Base / any hub audio classifier (paper)."""

    profile: str = "lite"
    model: str = ""  # a hub id or local folder overriding the profile's model (ACAV_TAGGER_MODEL)
    revision: str = ""
    precision: str = "auto"  # hub taggers: bf16 autocast on CUDA, float32 elsewhere (ACAV_TAGGER_PRECISION)

    @classmethod
    def from_env(cls) -> TaggerResource:
        return cls(profile=_profile(), model=os.environ.get("ACAV_TAGGER_MODEL", ""),
                   precision=os.environ.get("ACAV_TAGGER_PRECISION", "auto"))

    def load(self):
        return _tagger(self.profile, self.model, self.revision, self.precision)


@functools.cache
def _speech_models(profile: str, asr_model: str):
    from acav_assets.experts.speech.asr import WhisperRecognizer
    from acav_assets.experts.speech.gender import GenderEstimator
    from acav_assets.experts.speech.vad import SileroVad

    _check_profile(profile)
    if profile == "lite" and not asr_model:
        asr = WhisperRecognizer.packaged_base()
    else:
        asr = WhisperRecognizer.from_pretrained(asr_model or None)
    return SileroVad(), asr, GenderEstimator()


class SpeechModelsResource(dg.ConfigurableResource):
    """VAD (silero-vad), ASR with language ID (faster-whisper: packaged base in lite, large-v3 in
    paper) and speaker gender (voice2gender, else pitch). Emotion, age and speaker count have no
    packaged model and are recorded as "unavailable"."""

    profile: str = "lite"
    asr_model: str = ""  # a faster-whisper size, hub id or folder (ACAV_ASR_MODEL)

    @classmethod
    def from_env(cls) -> SpeechModelsResource:
        return cls(profile=_profile(), asr_model=os.environ.get("ACAV_ASR_MODEL", ""))

    def load(self):
        """(vad, asr, gender)"""
        return _speech_models(self.profile, self.asr_model)


class LalmResource(dg.ConfigurableResource):
    """Optional baseline description from an OpenAI-compatible endpoint that takes audio (e.g. a
    served Qwen2-Audio). Off unless ACAV_LALM_BASE_URL is set; the endpoint and its key
    (ACAV_LALM_API_KEY) come from the environment at run time only."""

    model: str = ""
    timeout_s: float = 60.0
    max_retries: int = 3

    @classmethod
    def from_env(cls) -> LalmResource:
        return cls(model=os.environ.get("ACAV_LALM_MODEL", ""))

    @property
    def base_url(self) -> str:
        return os.environ.get("ACAV_LALM_BASE_URL", "")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    def load(self):
        """The describer, or None when no endpoint is configured."""
        if not self.enabled:
            return None
        from acav_assets.experts.lalm_description import LalmConfig, LalmDescriber

        config = LalmConfig(base_url=self.base_url, model=self.model or "default",
                            api_key=os.environ.get("ACAV_LALM_API_KEY"), timeout_s=self.timeout_s,
                            max_retries=self.max_retries)
        return LalmDescriber(config)


class CaptionLlmResource(dg.ConfigurableResource):
    """The LLM that writes captions: any OpenAI-compatible chat endpoint (a served DeepSeek-R1,
    vLLM, an API). Off unless OPENAI_BASE_URL and ``model`` (ACAV_LLM_MODEL) are set; then the
    offline evidence-to-text synthesiser writes the captions. The endpoint and its key
    (OPENAI_API_KEY) come from the environment at run time only."""

    model: str = ""
    concurrency: int = 8
    temperature: float = 0.6
    max_tokens: int = 4096
    timeout_s: float = 120.0
    max_retries: int = 5
    max_repairs: int = 2
    clip_deadline_s: float = 300.0  # all of one clip's requests, retries and repairs included

    @classmethod
    def from_env(cls) -> CaptionLlmResource:
        return cls(
            model=os.environ.get("ACAV_LLM_MODEL", ""),
            concurrency=int(os.environ.get("ACAV_LLM_CONCURRENCY", "8")),
            timeout_s=float(os.environ.get("ACAV_LLM_TIMEOUT_S", "120")),
            max_retries=int(os.environ.get("ACAV_LLM_MAX_RETRIES", "5")),
            clip_deadline_s=float(os.environ.get("ACAV_LLM_CLIP_DEADLINE_S", "300")),
        )

    @property
    def base_url(self) -> str:
        return os.environ.get("OPENAI_BASE_URL", "")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)

    def settings(self):
        from acav_assets.captions.llm_client import LlmSettings

        return LlmSettings(
            base_url=self.base_url, model=self.model, api_key=os.environ.get("OPENAI_API_KEY"),
            temperature=self.temperature, max_tokens=self.max_tokens, timeout_s=self.timeout_s,
            max_retries=self.max_retries, max_repairs=self.max_repairs, concurrency=self.concurrency,
            clip_deadline_s=self.clip_deadline_s,
        )


def resources_from_env() -> dict[str, dg.ConfigurableResource]:
    """Every resource the definitions bind, configured from the environment."""
    return {
        "settings": AcavSettings.from_env(),
        "tagger": TaggerResource.from_env(),
        "speech_models": SpeechModelsResource.from_env(),
        "lalm": LalmResource.from_env(),
        "caption_llm": CaptionLlmResource.from_env(),
    }
