"""Audio and metadata from WebDataset shards with ``{key}.flac`` + ``{key}.json`` samples: the
release's ``train-*.tar`` and MECAT-Caption's ``{domain}/{split}_{NNNN}-0000000.tar.gz``.

A sample whose audio cannot be decoded is yielded with ``audio=None`` and the reason, so one bad
member never hides the rest of a shard. Audio that is not 16 kHz mono is converted.
"""

from __future__ import annotations

import glob
import io
import json
import logging
import os
import tarfile
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import braceexpand
import fsspec
import numpy as np
import soundfile as sf

from acav_assets.io.audio_decoding import TARGET_RATE, to_mono_16k

log = logging.getLogger(__name__)

SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class AudioSample(NamedTuple):
    key: str
    audio: np.ndarray | None  # float32, mono, 16 kHz; None when it could not be decoded
    meta: dict
    shard: str
    error: str | None = None


def shard_urls(spec: str | Sequence[str]) -> list[str]:
    """Shard URLs from a list, a brace pattern (``train_{0000..0012}-0000000.tar.gz``), a glob,
    or a local folder (every ``.tar``/``.tar.gz`` below it, sorted)."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    urls: list[str] = []
    for item in specs:
        for expanded in braceexpand.braceexpand(item):
            if "://" not in expanded and os.path.isdir(expanded):
                found = [os.path.join(root, name) for root, _, names in os.walk(expanded)
                         for name in names if name.endswith(SHARD_SUFFIXES)]
                if not found:
                    raise FileNotFoundError(f"no WebDataset shards (.tar, .tar.gz) under {expanded}")
                urls += sorted(found)
            elif "://" not in expanded and any(c in expanded for c in "*?["):
                matched = sorted(glob.glob(expanded))
                if not matched:
                    raise FileNotFoundError(f"no WebDataset shards match {expanded}")
                urls += matched
            else:
                urls.append(expanded)
    return urls


def _split_member(name: str) -> tuple[str, str]:
    """WebDataset convention: the key is the path up to the first dot of the file name."""
    directory, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    return (f"{directory}/{stem}" if directory else stem), extension


def _decode(flac: bytes) -> np.ndarray:
    audio, rate = sf.read(io.BytesIO(flac), dtype="float32", always_2d=True)
    if audio.shape[0] == 0:
        raise ValueError("empty audio")
    return to_mono_16k(audio, rate) if (rate != TARGET_RATE or audio.shape[1] != 1) else audio[:, 0]


def _sample(key: str, parts: dict[str, bytes], shard: str) -> AudioSample:
    try:
        meta = json.loads(parts["json"]) if "json" in parts else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        meta, meta_error = {}, f"invalid json member: {error}"
    else:
        meta_error = None
    audio_bytes = parts.get("flac") or parts.get("wav")
    if audio_bytes is None:
        return AudioSample(key, None, meta, shard, "no flac member")
    try:
        audio = _decode(audio_bytes)
    except (sf.LibsndfileError, ValueError, RuntimeError) as error:
        return AudioSample(key, None, meta, shard, f"undecodable audio: {error}")
    return AudioSample(key, audio, meta, shard, meta_error)


def iter_audio_samples(spec: str | Sequence[str], keys: set[str] | None = None) -> Iterator[AudioSample]:
    """Stream the samples of every shard in ``spec`` (see :func:`shard_urls`), one clip in memory
    at a time; with ``keys``, only those clips are decoded. A shard that cannot be read at all
    raises with its URL."""
    for url in shard_urls(spec):
        log.info("reading %s", url)
        current, parts = None, {}
        try:
            with fsspec.open(url, "rb") as handle, tarfile.open(fileobj=handle, mode="r|*") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    key, extension = _split_member(member.name)
                    if key != current:
                        if current is not None and (keys is None or current in keys):
                            yield _sample(current, parts, url)
                        current, parts = key, {}
                    if keys is None or key in keys:
                        parts[extension] = tar.extractfile(member).read()
        except (tarfile.TarError, EOFError, OSError) as error:
            raise OSError(f"{url}: unreadable WebDataset shard: {error}") from error
        if current is not None and (keys is None or current in keys):
            yield _sample(current, parts, url)
