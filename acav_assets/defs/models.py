"""Model resources. Each loads its model once per process (cached on its settings) and picks
CUDA when available. ``ACAV_PROFILE`` selects the models: ``lite`` (packaged, CPU, offline) or
``paper`` (CED-Base and Whisper large-v3 from the hub, pinned revisions)."""

import functools
import os

import dagster as dg

PROFILES = ("lite", "paper")


def _profile() -> str:
    return os.environ.get("ACAV_PROFILE", "lite")


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)} (ACAV_PROFILE)")


@functools.cache
def _tagger(profile: str, model: str, revision: str, precision: str = "auto"):
    from acav_assets.experts.tagging import taggers

    _check_profile(profile)
    if profile == "lite" and not model:
        return taggers.YamnetTagger()
    return taggers.HubAudioTagger.from_pretrained(
        model or taggers.CED_BASE_MODEL_ID, revision=revision or (None if model else taggers.CED_BASE_REVISION),
        trust_remote_code=True, precision=precision,
    )


class TaggerResource(dg.ConfigurableResource):
    """AudioSet tagger: packaged YAMNet (lite) or CED-Base / any hub audio classifier (paper)."""

    profile: str = "lite"
    model: str = ""  # a hub id or local folder overriding the profile's model (ACAV_TAGGER_MODEL)
    revision: str = ""
    precision: str = "auto"  # hub taggers: bf16 autocast on CUDA, float32 elsewhere (ACAV_TAGGER_PRECISION)

    @classmethod
    def from_env(cls) -> "TaggerResource":
        return cls(profile=_profile(), model=os.environ.get("ACAV_TAGGER_MODEL", ""),
                   precision=os.environ.get("ACAV_TAGGER_PRECISION", "auto"))

    def load(self):
        return _tagger(self.profile, self.model, self.revision, self.precision)


@functools.cache
def _speech_models(profile: str, asr_model: str):
    from acav_assets.experts.speech import analysis as speech

    _check_profile(profile)
    if profile == "lite" and not asr_model:
        asr = speech.WhisperRecognizer.packaged_base(decode_options={"temperature": 0.0})
    else:
        asr = speech.WhisperRecognizer.from_pretrained(asr_model or None)
    return speech.SileroVad(), asr, speech.GenderEstimator()


class SpeechModelsResource(dg.ConfigurableResource):
    """VAD (silero-vad), ASR with language ID (faster-whisper: packaged base in lite, large-v3 in
    paper) and speaker gender (voice2gender, else pitch). Emotion, age and speaker count have no
    packaged model and are recorded as "unavailable"."""

    profile: str = "lite"
    asr_model: str = ""  # a faster-whisper size, hub id or folder (ACAV_ASR_MODEL)

    @classmethod
    def from_env(cls) -> "SpeechModelsResource":
        return cls(profile=_profile(), asr_model=os.environ.get("ACAV_ASR_MODEL", ""))

    def load(self):
        """(vad, asr, gender)"""
        return _speech_models(self.profile, self.asr_model)


class LalmResource(dg.ConfigurableResource):
    """Optional baseline description from an OpenAI-compatible endpoint that takes audio (e.g. a
    served Qwen2-Audio). Off unless ``base_url`` is set. The key is read from the environment
    variable named by ``api_key_env`` at run time, so it never appears in run configuration."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = "ACAV_LALM_API_KEY"
    timeout_s: float = 60.0
    max_retries: int = 3

    @classmethod
    def from_env(cls) -> "LalmResource":
        return cls(base_url=os.environ.get("ACAV_LALM_BASE_URL", ""), model=os.environ.get("ACAV_LALM_MODEL", ""))

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    def load(self):
        from acav_assets.experts.lalm_description import LalmConfig, LalmDescriber

        config = LalmConfig(base_url=self.base_url, model=self.model or "default",
                            api_key=os.environ.get(self.api_key_env), timeout_s=self.timeout_s,
                            max_retries=self.max_retries)
        return LalmDescriber(config)


class CaptionLlmResource(dg.ConfigurableResource):
    """The LLM that writes captions: any OpenAI-compatible chat endpoint (a served DeepSeek-R1,
    vLLM, an API). Off unless ``base_url`` and ``model`` are set (``OPENAI_BASE_URL``,
    ``ACAV_LLM_MODEL``); then the offline evidence-to-text synthesiser writes the captions. The
    key is read at run time from the variable named by ``api_key_env``."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    temperature: float = 0.6
    max_tokens: int = 4096
    timeout_s: float = 120.0
    max_retries: int = 5
    max_repairs: int = 2

    @classmethod
    def from_env(cls) -> "CaptionLlmResource":
        return cls(
            base_url=os.environ.get("OPENAI_BASE_URL", ""),
            model=os.environ.get("ACAV_LLM_MODEL", ""),
            concurrency=int(os.environ.get("ACAV_LLM_CONCURRENCY", "8")),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)

    def settings(self):
        from acav_assets.captions.llm_client import LlmSettings

        return LlmSettings(
            base_url=self.base_url, model=self.model, api_key=os.environ.get(self.api_key_env),
            temperature=self.temperature, max_tokens=self.max_tokens, timeout_s=self.timeout_s,
            max_retries=self.max_retries, max_repairs=self.max_repairs, concurrency=self.concurrency,
        )
