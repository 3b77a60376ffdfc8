"""Training manifests from a published release's ``captions`` Parquet config, for toolkits that
read audio files: each clip's FLAC is written to ``OUT/audio/{key}.flac`` (16 kHz mono, the
release's own bytes) and listed, per split, as

- Lhotse (:func:`export_lhotse`): ``acav_recordings_{split}.jsonl.gz``,
  ``acav_supervisions_{split}.jsonl.gz`` and the CutSet ``acav_cuts_{split}.jsonl.gz`` (MonoCuts),
  in Lhotse's documented JSON-lines manifest format; the supervision's ``text`` is one caption
  facet, its ``custom`` every facet with the clip's domain, source, window and licence;
- NeMo (:func:`export_nemo`): ``{split}_manifest.jsonl`` with ``audio_filepath``, ``offset``,
  ``duration`` and ``text`` (one caption facet), plus the clip's key, domain, source and licence.

``text`` is the facet's first variant; clips whose facet is absent (``"None"``: no speech, say)
are left out of that export. Audio paths are absolute, so a manifest works from any folder."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import soundfile as sf

from acav_assets.captions.schema import ABSENT, FACETS
from acav_assets.curation.hub_files import CAPTIONS_CONFIG, SPLITS
from acav_assets.io.storage import atomic_writer

FORMATS = ("lhotse", "nemo")
PROVENANCE = ("domain", "source_id", "window_start_s", "window_end_s", "license")


def release_clips(release: str | Path, split: str) -> Iterator[dict]:
    """The rows of one split of a release's captions config, a row group at a time."""
    for path in sorted((Path(release) / CAPTIONS_CONFIG).glob(f"{split}-*.parquet")):
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            yield from parquet.read_row_group(group).to_pylist()


def _write_audio(clip: dict, out: Path) -> tuple[Path, int, int]:
    """The clip's FLAC as ``out/audio/{key}.flac``; returns its path, samples and sample rate."""
    path = out / "audio" / f"{clip['key']}.flac"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = clip["audio"]["bytes"]
    path.write_bytes(data)
    info = sf.info(io.BytesIO(data))
    return path.resolve(), info.frames, info.samplerate


def _exported(release: str | Path, out: Path, split: str, facet: str) -> Iterator[tuple[dict, Path, int, int]]:
    """(clip, audio path, samples, rate) of the clips of ``split`` whose ``facet`` is present."""
    if facet not in FACETS:
        raise ValueError(f"unknown facet {facet!r}; one of {', '.join(FACETS)}")
    for clip in release_clips(release, split):
        if clip[facet][0] != ABSENT:
            yield (clip, *_write_audio(clip, out))


def _splits(release: str | Path) -> list[str]:
    folder = Path(release) / CAPTIONS_CONFIG
    found = [s for s in SPLITS if any(folder.glob(f"{s}-*.parquet"))]
    if not found:
        raise FileNotFoundError(f"{folder}: no Parquet files; publish a release first")
    return found


def _lines(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _write_gz(path: Path, data: bytes) -> None:
    with atomic_writer(str(path)) as handle, gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as gz:
        gz.write(data)


def lhotse_records(clip: dict, audio: Path, samples: int, facet: str, rate: int) -> tuple[dict, dict, dict]:
    """(recording, supervision, cut) of one clip, as Lhotse serialises them."""
    duration = samples / rate
    recording = {"id": clip["key"], "sources": [{"type": "file", "channels": [0], "source": str(audio)}],
                 "sampling_rate": rate, "num_samples": samples, "duration": duration, "channel_ids": [0]}
    supervision = {"id": clip["key"], "recording_id": clip["key"], "start": 0.0, "duration": duration,
                   "channel": 0, "text": clip[facet][0],
                   "custom": {**{k: clip[k] for k in PROVENANCE}, "captions": {f: clip[f] for f in FACETS}}}
    cut = {"id": clip["key"], "start": 0.0, "duration": duration, "channel": 0, "supervisions": [supervision],
           "recording": recording, "type": "MonoCut"}
    return recording, supervision, cut


def export_lhotse(release: str | Path, out: str | Path, facet: str = "long") -> dict[str, int]:
    """Lhotse manifests of every split of ``release`` in ``out``; returns split -> clips."""
    out, counts = Path(out), {}
    for split in _splits(release):
        records = [lhotse_records(clip, audio, samples, facet, rate)
                   for clip, audio, samples, rate in _exported(release, out, split, facet)]
        for index, kind in enumerate(("recordings", "supervisions", "cuts")):
            _write_gz(out / f"acav_{kind}_{split}.jsonl.gz", _lines([r[index] for r in records]))
        counts[split] = len(records)
    return counts


def nemo_record(clip: dict, audio: Path, samples: int, facet: str, rate: int) -> dict:
    """One NeMo manifest line: the whole clip file (offset 0) and one caption."""
    return {"audio_filepath": str(audio), "offset": 0.0, "duration": samples / rate, "text": clip[facet][0],
            "key": clip["key"], **{k: clip[k] for k in PROVENANCE}}


def export_nemo(release: str | Path, out: str | Path, facet: str = "long") -> dict[str, int]:
    """NeMo manifests of every split of ``release`` in ``out``; returns split -> clips."""
    out, counts = Path(out), {}
    for split in _splits(release):
        records = [nemo_record(clip, audio, samples, facet, rate)
                   for clip, audio, samples, rate in _exported(release, out, split, facet)]
        with atomic_writer(str(out / f"{split}_manifest.jsonl")) as handle:
            handle.write(_lines(records))
        counts[split] = len(records)
    return counts


def export(kind: str, release: str | Path, out: str | Path, facet: str = "long") -> dict[str, int]:
    """:func:`export_lhotse` or :func:`export_nemo` by name."""
    if kind not in FORMATS:
        raise ValueError(f"unknown export format {kind!r}; one of {', '.join(FORMATS)}")
    return (export_lhotse if kind == "lhotse" else export_nemo)(release, out, facet)
