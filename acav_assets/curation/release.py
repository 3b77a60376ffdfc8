"""The public release of the curated captions: ACAVCaps-style per-domain ``{domain}.jsonl.gz``
files, a MECAT-QA style ``qa.jsonl.gz``, a flat ``captions.parquet`` (text only), WebDataset tars
with the audio, and the Hugging Face-native ``captions/`` and ``qa/`` Parquet configs
(:mod:`acav_assets.curation.hub_files`) described by the dataset card ``README.md``
(:mod:`acav_assets.curation.dataset_card`).

Every artefact covers the same clips: rows with status ``ok`` whose domain is not ``000``
(ACAVCaps publishes no ``000`` file) and that are not corpus-wide duplicates (the
``corpus_duplicates`` asset, :mod:`acav_assets.curation.corpus_dedup`), sorted by key; captions exist only for decoded clips, and a
released clip without audio fails the release. Every file except the ACAVCaps/MECAT lines (whose
format is fixed) carries each clip's source id, window, duration and manifest licence, joined from
the ``clips`` table. All files are written deterministically (gzip mtime 0, tar mtime 0) into a
staging folder, listed with their sizes and sha256 in ``index.json`` (which also holds the number
of released clips), checked, and swapped in whole (:func:`publish`).
:func:`acav_assets.stats.warehouse.release_counts` compares it with every other place that
states it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf
import webdataset as wds
import yaml

from acav_assets.captions.schema import FACETS
from acav_assets.captions.table import QA_TYPE
from acav_assets.contracts.domains import DOMAINS, SILENT_DOMAIN, STATUS_OK
from acav_assets.contracts.failures import PromotionRefused
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation import dataset_card, hub_files
from acav_assets.curation.corpus_dedup import duplicate_keys
from acav_assets.curation.hub_files import CAPTIONS_CONFIG, CLIP_FIELDS, QA_CONFIG, clip_fields
from acav_assets.ingest.clip_decoding import clip_durations
from acav_assets.io import storage
from acav_assets.io.audio_shards import encode_flac, read_audio_shard
from acav_assets.io.markdown import Markdown
from acav_assets.io.storage import atomic_writer, sha256_file

INDEX = "index.json"  # every other file of a release: relative path, byte size, sha256
RELEASE_DOMAINS = tuple(d for d in DOMAINS if d != SILENT_DOMAIN)  # no 000 file, as published
QA_FIELDS = ("category", "difficulty", "question", "answer")

PARQUET_SCHEMA = pa.schema(
    [pa.field("key", pa.string()), *CLIP_FIELDS]
    + [pa.field(f, pa.list_(pa.string())) for f in FACETS]
    + [pa.field("qa", pa.list_(QA_TYPE)), pa.field("model", pa.string())]
)


def _is_ok(row: Mapping) -> bool:
    return row.get("status", "ok") == "ok" and row.get("domain") is not None


def clip_info(layout: DataLayout) -> dict[str, dict]:
    """key -> source id, window, duration and licence of every decoded clip (``clips`` table)."""
    table = storage.read_partitions(layout.root, "clips")
    out = {}
    for clip in [] if table is None else table.to_pylist():
        if clip["status"] != STATUS_OK:
            continue
        end = clip["end_s"] if clip["end_s"] is not None else clip["start_s"] + clip["duration_s"]
        out[clip["key"]] = {"source_id": clip["source_id"], "window_start_s": clip["start_s"],
                            "window_end_s": end, "duration_s": clip["duration_s"], "license": clip["license"]}
    return out


def with_clip_info(rows: Iterable[Mapping], clips: Mapping[str, Mapping], strict: bool = True) -> list[dict]:
    """``rows`` with their clip's provenance (:func:`clip_info`) added; ``strict``: a released row
    without a decoded clip is a ValueError (otherwise its provenance stays empty)."""
    out, missing = [], []
    for row in rows:
        info = clips.get(row["key"])
        if info is None and _is_ok(row) and row["domain"] != SILENT_DOMAIN:
            missing.append(row["key"])
        out.append({**row, **(info or {})})
    if strict and missing:
        raise ValueError(f"{len(missing)} curated clips have no decoded clip row, e.g. {missing[:3]}")
    return out


def release_rows(rows: Iterable[Mapping]) -> list[Mapping]:
    """The rows that are released: status ok, domain not 000, sorted by key."""
    return sorted((r for r in rows if _is_ok(r) and r["domain"] != SILENT_DOMAIN), key=lambda r: r["key"])


def facets_of(row: Mapping) -> dict[str, list[str]]:
    """The six facets of a row, in the published order, three strings each."""
    out = {}
    for facet in FACETS:
        variants = [str(v) for v in row[facet]]
        if len(variants) != 3:
            raise ValueError(f"{row['key']}: facet {facet} has {len(variants)} variants, expected 3")
        out[facet] = variants
    return out


def qa_id(key: str, question: str) -> str:
    """``{key}_{8 hex}``; the hex is a stable hash of (key, question)."""
    digest = hashlib.sha256("\n".join((key, question)).encode()).hexdigest()
    return f"{key}_{digest[:8]}"


def _json_line(obj: dict) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode()


def _write_jsonl_gz(lines: Iterable[bytes], path: str) -> None:
    with atomic_writer(path) as handle, gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as gz:
        for line in lines:
            gz.write(line)


def write_caption_files(rows: Iterable[Mapping], folder: str) -> dict[str, int]:
    """Write ``{domain}.jsonl.gz`` per release domain (empty domains get an empty file); return
    lines per domain plus ``000_skipped`` (silent clips left out)."""
    rows = list(rows)
    by_domain: dict[str, list[Mapping]] = defaultdict(list)
    for row in release_rows(rows):
        if row["domain"] not in RELEASE_DOMAINS:
            raise ValueError(f"{row['key']}: unknown domain {row['domain']!r}")
        by_domain[row["domain"]].append(row)
    counts: dict[str, int] = {}
    for domain in RELEASE_DOMAINS:
        chosen = by_domain.get(domain, [])
        _write_jsonl_gz((_json_line({r["key"]: facets_of(r)}) for r in chosen), os.path.join(folder, f"{domain}.jsonl.gz"))
        counts[domain] = len(chosen)
    counts["000_skipped"] = sum(1 for r in rows if _is_ok(r) and r["domain"] == SILENT_DOMAIN)
    return counts


def qa_pairs(row: Mapping) -> list[tuple[str, Mapping]]:
    """(id, pair) of a row's QA pairs; a repeated question within a clip keeps its first answer."""
    out: dict[str, Mapping] = {}
    for qa in row.get("qa") or []:
        out.setdefault(qa_id(row["key"], qa["question"]), qa)
    return list(out.items())


def qa_lines(row: Mapping) -> list[dict]:
    """MECAT-QA records of a row."""
    return [{ident: {**{f: qa[f] for f in QA_FIELDS}, "domain": row["domain"]}} for ident, qa in qa_pairs(row)]


def write_qa_file(rows: Iterable[Mapping], folder: str) -> int:
    """Write ``qa.jsonl.gz`` (MECAT-QA lines) for the released clips; return the number of lines."""
    lines = [line for row in release_rows(rows) for line in qa_lines(row)]
    _write_jsonl_gz((_json_line(line) for line in lines), os.path.join(folder, "qa.jsonl.gz"))
    return len(lines)


def write_parquet(rows: Iterable[Mapping], path: str) -> None:
    """A flat Parquet of the released clips' text and provenance, without audio."""
    records = []
    for row in release_rows(rows):
        records.append({
            "key": row["key"], **clip_fields(row), **facets_of(row),
            "qa": [{**{f: qa[f] for f in QA_FIELDS}, "confidence": qa.get("confidence")} for qa in row.get("qa") or []],
            "model": row.get("model"),
        })
    table = pa.Table.from_pylist(records, schema=PARQUET_SCHEMA)
    with atomic_writer(path) as handle:
        pq.write_table(table, handle, compression="zstd")


def _sample_record(row: Mapping) -> dict:
    return {
        "key": row["key"], **clip_fields(row), **facets_of(row),
        "qa": [{**{f: qa[f] for f in QA_FIELDS}} for qa in row.get("qa") or []],
        "model": row.get("model"),
    }


class _RollingTars:
    """``train-{NNNNNN}.tar`` files in ``folder``, each holding at most ``per_shard`` clips."""

    def __init__(self, folder: str, per_shard: int):
        self.folder, self.per_shard = folder, per_shard
        self.paths: list[str] = []
        self._context = self._tar = None
        self._count = 0

    def add(self, sample: dict) -> None:
        if self._tar is None or self._count >= self.per_shard:
            self.close()
            path = os.path.join(self.folder, f"train-{len(self.paths):06d}.tar")
            self._context = atomic_writer(path)
            self._tar = wds.TarWriter(self._context.__enter__(), mtime=0.0)
            self.paths.append(path)
            self._count = 0
        self._tar.write(sample)
        self._count += 1

    def close(self, error: BaseException | None = None) -> None:
        if self._tar is None:
            return
        self._tar.close()
        if error is None:
            self._context.__exit__(None, None, None)
        else:
            self.paths.pop()
            self._context.__exit__(type(error), error, error.__traceback__)
        self._tar = self._context = None


def released_audio(rows: Iterable[Mapping], audio_tars: Mapping[str, str]) -> Iterator[tuple[Mapping, bytes]]:
    """(row, 16 kHz FLAC) of every released clip, read from its source shard's tar (``audio_tars``:
    shard -> tar url), ordered by (source shard, key); a clip without audio is a KeyError."""
    by_shard: dict[str, dict[str, Mapping]] = defaultdict(dict)
    for row in release_rows(rows):
        by_shard[row["shard"]][row["key"]] = row
    missing_tars = sorted(set(by_shard) - set(audio_tars))
    if missing_tars:
        raise KeyError(f"no audio tar for shards {missing_tars}")
    for shard in sorted(by_shard):
        wanted = by_shard[shard]
        audio = {key: clip for key, clip, _ in read_audio_shard(audio_tars[shard], keys=set(wanted))}
        missing = sorted(set(wanted) - set(audio))
        if missing:
            raise KeyError(f"shard {shard}: no audio for {len(missing)} clips, e.g. {missing[:3]}")
        for key in sorted(wanted):
            yield wanted[key], encode_flac(audio.pop(key)).flac


def write_audio_files(rows: Iterable[Mapping], audio_tars: Mapping[str, str], folder: str,
                      clips_per_shard: int = 1000, hub: hub_files.HubFiles | None = None) -> list[str]:
    """WebDataset tars ``{folder}/train-{NNNNNN}.tar`` with ``{key}.flac`` + ``{key}.json``
    (captions, domain, provenance, QA) per released clip (:func:`released_audio`), and the same
    clips fed to ``hub`` (the Parquet configs) when given; returns the tar paths."""
    if clips_per_shard < 1:
        raise ValueError("clips_per_shard must be at least 1")
    tars = _RollingTars(folder, clips_per_shard)
    try:
        for row, flac in released_audio(rows, audio_tars):
            record = json.dumps(_sample_record(row), ensure_ascii=False).encode()
            tars.add({"__key__": row["key"], "flac": flac, "json": record})
            if hub is not None:
                hub.add(row, flac, qa_pairs(row))
    except BaseException as error:
        tars.close(error)
        raise
    tars.close()
    return tars.paths


def write_webdataset(rows: Iterable[Mapping], audio_tars: Mapping[str, str], folder: str,
                     clips_per_shard: int = 1000) -> list[str]:
    """The WebDataset tars alone (see :func:`write_audio_files`)."""
    return write_audio_files(rows, audio_tars, folder, clips_per_shard)


def _read_jsonl_gz(path: str) -> Iterable[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_release(folder: str) -> dict[str, dict]:
    """Read the ``{domain}.jsonl.gz`` files back: key -> {"domain", facets...}."""
    out: dict[str, dict] = {}
    for domain in RELEASE_DOMAINS:
        path = os.path.join(folder, f"{domain}.jsonl.gz")
        if not os.path.exists(path):
            continue
        for line in _read_jsonl_gz(path):
            for key, facets in line.items():
                out[key] = {"domain": domain, **facets}
    return out


def read_qa(folder: str) -> dict[str, dict]:
    """Read ``qa.jsonl.gz`` back: ``{key}_{8 hex}`` -> {category, difficulty, question, answer, domain}."""
    out: dict[str, dict] = {}
    for line in _read_jsonl_gz(os.path.join(folder, "qa.jsonl.gz")):
        out.update(line)
    return out


def curated_rows(layout: DataLayout) -> list[dict]:
    """Every shard's curated captions but the corpus-wide duplicates
    (:func:`acav_assets.curation.corpus_dedup.duplicate_keys`), sorted by key."""
    table = storage.read_partitions(layout.root, "curated_captions")
    duplicates = duplicate_keys(layout)
    return [] if table is None else sorted((r for r in table.to_pylist() if r["key"] not in duplicates),
                                           key=lambda r: r["key"])


def release_input(layout: DataLayout, strict: bool = True) -> list[dict]:
    """The curated rows with their clips' provenance (:func:`with_clip_info`)."""
    return with_clip_info(curated_rows(layout), clip_info(layout), strict)


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def write_index(folder: str | Path, clips: int | None = None) -> int:
    """Write ``index.json``: every other file's relative path, byte size and sha256, and the number
    of released ``clips`` when given; returns the number of files listed."""
    folder = Path(folder)
    files = [{"path": name, "size": path.stat().st_size, "sha256": sha256_file(path)}
             for name, path in _files(folder).items() if name != INDEX]
    with atomic_writer(str(folder / INDEX)) as handle:
        handle.write(json.dumps({"clips": clips, "files": files} if clips is not None else {"files": files},
                                indent=1).encode())
    return len(files)


def index_problems(folder: str | Path) -> list[str]:
    """Files of ``folder`` that differ from its index: missing, resized, changed or unlisted."""
    folder = Path(folder)
    try:
        listed = {entry["path"]: entry for entry in json.loads((folder / INDEX).read_text("utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"{INDEX} missing or unreadable ({error})"]
    present = _files(folder)
    present.pop(INDEX, None)
    problems = [f"unlisted file {name}" for name in sorted(set(present) - set(listed))]
    for name, entry in sorted(listed.items()):
        path = present.get(name)
        if path is None:
            problems.append(f"missing file {name}")
        elif path.stat().st_size != entry["size"]:
            problems.append(f"{name}: {path.stat().st_size} bytes, the index says {entry['size']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{name}: sha256 differs from the index")
    return problems


def tar_problems(folder: str | Path, rows: Mapping[str, Mapping]) -> list[str]:
    """WebDataset samples that do not round-trip: every released clip (``rows``: key -> curated
    row) exactly once, as a decodable ``{key}.flac`` and a ``{key}.json`` equal to its record."""
    problems, seen = [], Counter()
    for path in sorted((Path(folder) / "webdataset").glob("*.tar")):
        parts: dict[str, set[str]] = defaultdict(set)
        try:
            with tarfile.open(path) as tar:
                for member in tar:
                    key, _, ext = member.name.rpartition(".")
                    parts[key].add(ext)
                    data = tar.extractfile(member).read() if member.isfile() else b""
                    if ext == "json" and key in rows and json.loads(data) != json.loads(
                            json.dumps(_sample_record(rows[key]), ensure_ascii=False)):
                        problems.append(f"{path.name}: {key}.json differs from the curated captions")
                    elif ext == "flac" and not len(sf.read(io.BytesIO(data), dtype="float32")[0]):
                        problems.append(f"{path.name}: {key}.flac holds no audio")
        except (tarfile.TarError, OSError, ValueError, RuntimeError) as error:  # sf.LibsndfileError is a RuntimeError
            problems.append(f"{path.name}: unreadable ({error})")
            continue
        problems += [f"{path.name}: {key} has {sorted(exts)}, expected flac and json"
                     for key, exts in parts.items() if exts != {"flac", "json"}]
        seen.update(parts.keys())
    problems += [f"{key} is in the tars {n} times" for key, n in sorted(seen.items()) if n > 1]
    problems += [f"{key} is missing from the tars" for key in sorted(set(rows) - set(seen))]
    problems += [f"{key} is in the tars but not released" for key in sorted(set(seen) - set(rows))]
    return problems


def _decoded_seconds(flac: bytes) -> float:
    info = sf.info(io.BytesIO(flac))
    return info.frames / info.samplerate


def card_problems(folder: Path, rows: Mapping[str, Mapping]) -> list[str]:
    """The card's ``configs:`` against the Parquet files (each split's glob matches files, every
    file is in a split) and its ``license`` against the released clips' licences."""
    try:
        front = dataset_card.read_front_matter(folder)
        declared = {(c["config_name"], d["split"]): d["path"] for c in front["configs"] for d in c["data_files"]}
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as error:
        return [f"{dataset_card.CARD} missing or unreadable ({error})"]
    problems, covered = [], set()
    for (config, split), pattern in sorted(declared.items()):
        matched = set(folder.glob(pattern))
        if not matched:
            problems.append(f"card: {config}/{split} ({pattern}) matches no file")
        covered |= matched
    present = {p for config in (CAPTIONS_CONFIG, QA_CONFIG) for p in (folder / config).glob("*")}
    problems += [f"card: {p.relative_to(folder).as_posix()} is in no config" for p in sorted(present - covered)]
    expected = sorted({lid for r in rows.values() for lid in dataset_card.hub_license_ids(r.get("license"))})
    stated = front.get("license")
    if sorted([stated] if isinstance(stated, str) else stated or []) != expected:
        problems.append(f"card: license {stated!r}, the clips have {expected}")
    return problems


def hub_problems(folder: str | Path, rows: Mapping[str, Mapping]) -> list[str]:
    """Hugging Face Parquet rows that do not round-trip: every released clip (``rows``: key ->
    row with provenance) exactly once in the captions config, in its source's split, equal to its
    record, with audio of its duration; its QA pairs exactly in the QA config; and the card."""
    folder = Path(folder)
    problems = card_problems(folder, rows)
    try:
        captions = hub_files.read_config(folder, CAPTIONS_CONFIG)
        qa = hub_files.read_config(folder, QA_CONFIG)
    except (OSError, pa.ArrowException) as error:
        return [*problems, f"Parquet configs unreadable ({error})"]
    seen: Counter = Counter()
    for split, table in captions.items():
        for record in table.to_pylist():
            key, audio = record["key"], record.pop("audio")
            seen[key] += 1
            row = rows.get(key)
            if row is None:
                continue
            if row.get("source_id") is None or row.get("duration_s") is None:
                problems.append(f"{CAPTIONS_CONFIG}/{split}: {key} has no decoded clip row to compare with")
                continue
            expected = hub_files.caption_record(row, b"")
            expected.pop("audio")
            if record != expected:
                problems.append(f"{CAPTIONS_CONFIG}/{split}: {key} differs from the curated captions")
            if split != hub_files.split_of(row["source_id"]):
                problems.append(f"{CAPTIONS_CONFIG}/{split}: {key} belongs to {hub_files.split_of(row['source_id'])}")
            try:
                if abs(_decoded_seconds(audio["bytes"]) - row["duration_s"]) > 0.01:
                    problems.append(f"{CAPTIONS_CONFIG}/{split}: {key} audio is not {row['duration_s']} s long")
            except (RuntimeError, TypeError) as error:  # sf.LibsndfileError is a RuntimeError
                problems.append(f"{CAPTIONS_CONFIG}/{split}: {key} audio unreadable ({error})")
    problems += [f"{CAPTIONS_CONFIG}: {key} is there {n} times" for key, n in sorted(seen.items()) if n > 1]
    problems += [f"{CAPTIONS_CONFIG}: {key} is missing" for key in sorted(set(rows) - set(seen))]
    problems += [f"{CAPTIONS_CONFIG}: {key} is not released" for key in sorted(set(seen) - set(rows))]
    expected_qa = {r["id"]: [r] for row in rows.values() for r in hub_files.qa_records(row, qa_pairs(row))}
    found_qa: dict[str, list[dict]] = defaultdict(list)
    for table in qa.values():
        for record in table.to_pylist():
            found_qa[record["id"]].append(record)
    differing = sorted(i for i in set(found_qa) | set(expected_qa) if found_qa.get(i) != expected_qa.get(i))
    if differing:
        problems.append(f"{QA_CONFIG}: {len(differing)} pairs missing, repeated or different, e.g. {differing[:3]}")
    return problems


def _swap_in(staged: Path, live: Path) -> None:
    """Rename live -> ``{live}.previous-*``, staged -> live, then delete the previous release."""
    previous = live.with_name(f"{live.name}.previous-{uuid.uuid4().hex}")
    if live.exists():
        os.replace(live, previous)
    try:
        os.replace(staged, live)
    except BaseException:
        if previous.exists():
            os.replace(previous, live)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def publish(layout: DataLayout, log=None, clips_per_shard: int = 1000,
            max_shard_bytes: int = hub_files.MAX_SHARD_BYTES) -> dict:
    """Write every release file from the curated captions into ``release.staging-*`` beside the
    live release, index it, and swap it in whole only when :func:`round_trip_problems` finds
    nothing; otherwise :class:`PromotionRefused` and the live release stays as it was. Local roots
    (or a mounted bucket) only: an object store gets the ValueError of ``layout.release_folder``.
    The swap is two renames; a reader may find no release for that instant. ``max_shard_bytes``:
    the size of one Hugging Face Parquet shard."""
    from acav_assets.stats import plots

    rows = release_input(layout)
    live = layout.release_folder()
    staged = live.with_name(f"{live.name}.staging-{uuid.uuid4().hex}")
    try:
        staged.mkdir(parents=True)
        per_domain = write_caption_files(rows, str(staged))
        qa_count = write_qa_file(rows, str(staged))
        write_parquet(rows, f"{staged}/captions.parquet")
        shards = sorted({r["shard"] for r in rows})
        hub = hub_files.HubFiles(staged, max_shard_bytes)
        tars = write_audio_files(rows, {s: layout.audio_tar(s) for s in shards}, f"{staged}/webdataset",
                                 clips_per_shard, hub)
        splits = hub.close()
        released = release_rows(rows)
        licences = Counter(r["license"] for r in released)
        dataset_card.write_card(staged, splits, licences)
        files = write_index(staged, clips=len(released))
        problems = round_trip_problems(layout, staged, rows)
        if any(problems.values()):
            raise PromotionRefused(f"the new release failed its round trip; {live} is unchanged: "
                                   + describe_problems(problems))
        _swap_in(staged, live)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    durations = clip_durations(layout.root)
    lengths = {f: [len(v.split()) for r in released for v in r[f] if v != "None"] for f in FACETS}
    domains = Counter(r["domain"] for r in released)
    if log is not None:
        log.info("release: %d clips, %d QA lines, %d WebDataset shards, splits %s in %s",
                 len(released), qa_count, len(tars), splits, live)
    return {
        "folder": str(live), "clips": len(released), "qa_lines": qa_count, "webdataset_shards": len(tars),
        "indexed_files": files, "lines_per_domain": dict(per_domain), "hub_splits": splits,
        "licences": {licence or dataset_card.UNKNOWN: n for licence, n in sorted(licences.items(), key=str)},
        "domain_distribution": Markdown(plots.domain_distribution(dict(domains))),
        "duration_histogram": Markdown(
            plots.duration_histogram([durations[r["key"]] for r in released if durations.get(r["key"])])),
        "caption_lengths": Markdown(plots.caption_length_histograms(lengths)),
    }


def round_trip_problems(layout: DataLayout, folder: str | Path | None = None,
                        curated: list[dict] | None = None) -> dict[str, list[str]]:
    """What is wrong with a release (``folder``, default the live one) against its index and the
    curated captions (000 clips are not published): clips ``missing`` from, ``unexpected`` in or
    ``different`` in the caption files, ``files`` that differ from ``index.json``, ``tars``
    whose samples do not round-trip, ``hub``: Hugging Face Parquet rows or card entries that do
    not (:func:`hub_problems`), and ``counts``: a Parquet or ``index.json`` clip count that
    differs from the caption files. ``curated``: the curated rows with their clips' provenance
    (:func:`release_input`) when the caller has read them."""
    folder = Path(folder or layout.release_folder())
    curated = release_input(layout, strict=False) if curated is None else curated
    rows = {r["key"]: r for r in curated if r["domain"] != SILENT_DOMAIN}
    released = read_release(str(folder))
    counts = file_counts(folder, released)
    return {
        "missing": sorted(set(rows) - set(released)),
        "unexpected": sorted(set(released) - set(rows)),
        "different": sorted(k for k in set(rows) & set(released)
                            if any(list(rows[k][f]) != list(released[k][f]) for f in FACETS)
                            or rows[k]["domain"] != released[k]["domain"]),
        "files": index_problems(folder),
        "tars": tar_problems(folder, {r["key"]: r for r in release_rows(curated)}),
        "hub": hub_problems(folder, {r["key"]: r for r in release_rows(curated)}),
        "counts": [f"{place} counts {n} clips, the caption files {counts['caption_files']}"
                   for place, n in counts.items() if n is not None and n != counts["caption_files"]],
    }


def file_counts(folder: Path, released: Mapping[str, dict] | None = None) -> dict[str, int | None]:
    """Released clips as each file of a release states them (None: missing or unreadable, which
    :func:`index_problems` and :func:`tar_problems` report); ``released``: the caption files
    when the caller has read them."""
    def attempt(read):
        try:
            return read()
        except (OSError, ValueError, KeyError, tarfile.TarError, pa.ArrowException):
            return None

    def samples() -> int:
        keys: set[str] = set()
        for path in sorted((folder / "webdataset").glob("*.tar")):
            with tarfile.open(path) as tar:
                keys.update(member.name.rpartition(".")[0] for member in tar if member.isfile())
        return len(keys)

    def hub_rows() -> int:
        return sum(pq.read_metadata(p).num_rows for p in sorted((folder / CAPTIONS_CONFIG).glob("*.parquet")))

    return {"caption_files": len(read_release(str(folder)) if released is None else released),
            "parquet": attempt(lambda: pq.read_metadata(folder / "captions.parquet").num_rows),
            "hub_captions": attempt(hub_rows),
            "index": attempt(lambda: json.loads((folder / INDEX).read_text("utf-8"))["clips"]),
            "webdataset": attempt(samples)}


def released_keys(layout: DataLayout) -> set[str]:
    """The clips a release must hold: curated, status ok, domain not ``000``, audio decoded."""
    clips = storage.read_partitions(layout.root, "clips", ["key", "status"])
    decoded = set() if clips is None else {k for k, s in zip(clips["key"].to_pylist(), clips["status"].to_pylist())
                                           if s == STATUS_OK}
    return {r["key"] for r in release_rows(curated_rows(layout)) if r["key"] in decoded}


def describe_problems(problems: Mapping[str, list[str]], shown: int = 20) -> str:
    """One line per kind of problem, the first ``shown`` of each."""
    return "; ".join(f"{kind} ({len(found)}): {found[:shown]}" for kind, found in problems.items() if found)
