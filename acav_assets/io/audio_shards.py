"""A shard's decoded audio as a WebDataset tar: ``{key}.flac`` (16 kHz mono, 16-bit) and
``{key}.json`` (the clip's provenance) per clip. Every stage after decoding reads audio from
here, so each source file is decoded exactly once."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import fsspec
import numpy as np
import soundfile as sf
import webdataset as wds

from acav_assets.io.audio_decoding import TARGET_RATE
from acav_assets.io.storage import atomic_writer


@dataclass(frozen=True)
class EncodedClip:
    flac: bytes
    checksum: str  # sha256 of the 16-bit PCM samples, independent of the FLAC encoder


def encode_flac(audio: np.ndarray) -> EncodedClip:
    """16-bit FLAC of a 16 kHz mono float clip (values beyond full scale are clipped)."""
    pcm = (np.clip(audio, -1.0, 32767 / 32768) * 32768).astype("<i2")
    buffer = io.BytesIO()
    sf.write(buffer, pcm, TARGET_RATE, format="FLAC", subtype="PCM_16")
    return EncodedClip(buffer.getvalue(), hashlib.sha256(pcm.tobytes()).hexdigest())


class AudioShardWriter:
    """Writes clips into a tar that appears at ``url`` only when the writer closes cleanly."""

    def __init__(self, url: str):
        self._context = atomic_writer(url)
        self._handle = self._context.__enter__()
        self._tar = wds.TarWriter(self._handle, mtime=0.0)
        self.count = 0

    def add(self, key: str, clip: EncodedClip, info: dict) -> None:
        self._tar.write({"__key__": key, "flac": clip.flac, "json": json.dumps(info).encode()})
        self.count += 1

    def close(self, error: BaseException | None = None) -> None:
        self._tar.close()
        if error is None:
            self._context.__exit__(None, None, None)
        else:
            self._context.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> AudioShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(exc)


def read_audio_shard(url: str, keys: Collection[str] | None = None) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Stream (key, 16 kHz float32 audio, info) from a shard tar, one clip in memory at a time;
    with ``keys``, only those clips are decoded and yielded."""
    with fsspec.open(url, "rb") as handle, tarfile.open(fileobj=handle, mode="r|") as tar:
        pending: dict[str, dict[str, bytes]] = {}
        for member in tar:
            if not member.isfile():
                continue
            key, _, extension = member.name.partition(".")
            if keys is not None and key not in keys:
                continue
            data = tar.extractfile(member).read()
            parts = pending.setdefault(key, {})
            parts[extension] = data
            if "flac" in parts and "json" in parts:
                del pending[key]
                audio, rate = sf.read(io.BytesIO(parts["flac"]), dtype="float32")
                if rate != TARGET_RATE:
                    raise ValueError(f"{url}: clip {key} is at {rate} Hz, expected {TARGET_RATE}")
                yield key, audio, json.loads(parts["json"])
