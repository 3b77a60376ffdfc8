"""A labelled evaluation corpus of real recordings: Debian packages mixed into 10 s clips of all 8 domains.

Speech prompts (three languages, three speakers), instrumental music and recorded sound effects come
from pinned Debian packages (``apt-get download`` + ``dpkg-deb -x``, nothing installed); each package's
``copyright`` file gives the licence of every file used. Clips are mixed at realistic relative levels
with a seeded RNG, so the same packages always give byte-identical clips. Every source recording
lands in exactly one split (``calibration`` or ``heldout``), and each domain is split half and half.
Silence (``000``) is digital silence or generated noise at -70 dBFS: no package has real room tone.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import hashlib
import io
import json
import logging
import re
import shutil
import struct
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
import soxr

from acav_assets.contracts.domains import DOMAINS, has_part

log = logging.getLogger(__name__)

SEED = 15
RATE = 16_000
CLIP_SECONDS = 10.0
SPLITS = ("calibration", "heldout")
# Clips per domain; each domain is split half and half between SPLITS.
DOMAIN_COUNTS = {"000": 16, "00A": 20, "0M0": 20, "0MA": 24, "S00": 24, "S0A": 24, "SM0": 24, "SMA": 24}
LANGUAGES = ("en", "fr", "it")
GENERATED_LICENSE = "CC0-1.0 (generated)"


@dataclass(frozen=True)
class Package:
    """A pinned Debian package and the files of it that the corpus uses."""

    name: str
    version: str
    role: str  # speech, music or sound
    patterns: tuple[str, ...]  # globs inside the package
    license: str | None  # None: per file, from the DEP-5 copyright
    evidence: str = ""  # text the copyright file must contain, proving ``license``
    language: str = ""
    exclude: tuple[str, ...] = ()


_ASTERISK = "usr/share/asterisk/sounds/*/*.wav", "usr/share/asterisk/sounds/*/*/*.wav"
PACKAGES = (
    Package("asterisk-core-sounds-en-wav", "1.6.1-1", "speech", _ASTERISK, "CC-BY-SA-3.0",
            "Allison Smith", "en", ("*/silence/*",)),
    Package("asterisk-core-sounds-fr-wav", "1.6.1-1", "speech", _ASTERISK, "CC-BY-SA-3.0",
            "June Wallack", "fr", ("*/silence/*",)),
    Package("asterisk-core-sounds-it-wav", "1.6.1-1", "speech", _ASTERISK, "CC-BY-3.0",
            "Carlo Flora", "it", ("*/silence/*",)),
    Package("asterisk-moh-opsound-wav", "2.03-1.1", "music", ("usr/share/asterisk/moh/*.wav",),
            "CC-BY-SA-3.0", "Creative Commons Attribution-ShareAlike 3.0"),
    Package("asc-music", "1.3-6", "music", ("usr/share/games/asc/music/*.mp3",), "GPL-2+",
            "Michael Kievernagel"),
    Package("openttd-opensfx", "1.0.3-2", "sound", ("usr/share/games/openttd/baseset/opensfx/opensfx.cat",),
            "CC-BY-SA-3.0", "the collection as a whole is relicensed under CC-BY-SA-3.0"),
    Package("bucklespring-data", "1.4.0-2", "sound", ("usr/share/buckle/wav/*.wav",), "GPL-2+",
            "Ico Doornekampt"),
    Package("sound-theme-freedesktop", "0.8-2", "sound",
            ("usr/share/sounds/freedesktop/stereo/alarm-clock-elapsed.oga",
             "usr/share/sounds/freedesktop/stereo/camera-shutter.oga"), None),
)
# OpenSFX entries left out: jingles, a voice, synthetic beeps, empty files and the cartoon "Toyland" set.
OPENSFX_SKIP = re.compile(r"^(Good Year|Bad Year|Beep|Morse|Oooh|Unused|Toyland)")
OPENSFX_LICENSES = {"Creative Commons Attribution 3.0": "CC-BY-3.0",
                    "Creative Commons Attribution-ShareAlike 3.0": "CC-BY-SA-3.0",
                    "Creative Commons Zero 1.0": "CC0-1.0"}
MIN_SECONDS = {"speech": 0.8, "music": 30.0, "sound": 0.15}


@dataclass(frozen=True)
class Recording:
    """One source recording: a file of a package (or an entry of OpenSFX's sound archive)."""

    id: str
    package: str
    path: str  # inside the package
    role: str
    license: str
    title: str
    language: str = ""
    entry: int | None = None  # index inside opensfx.cat
    credit: str = ""  # OpenSFX: the entry's own credit line (authors, editors, licence)


@dataclass
class Library:
    """The extracted packages, their recordings, the split of each recording and decoded audio."""

    roots: dict[str, Path]
    debs: dict[str, dict]
    recordings: list[Recording]
    split_of: dict[str, str] = field(default_factory=dict)
    _audio: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def pool(self, split: str, role: str, package: str | None = None, language: str = "") -> list[Recording]:
        """Recordings of one split and role (optionally one package or language), in a fixed order."""
        return [r for r in self.recordings if self.split_of[r.id] == split and r.role == role
                and (package is None or r.package == package) and (not language or r.language == language)]

    def audio(self, rec: Recording) -> np.ndarray:
        """The recording as 16 kHz mono float32 (decoded once)."""
        if rec.id not in self._audio:
            path = self.roots[rec.package] / rec.path
            data = _opensfx_entries(path)[rec.entry][1] if rec.entry is not None else path.read_bytes()
            samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
            self._audio[rec.id] = soxr.resample(samples.mean(axis=1), rate, RATE).astype(np.float32)
        return self._audio[rec.id]


def default_cache() -> Path:
    """Where downloaded and extracted packages are kept between builds."""
    return Path.home() / ".cache" / "acav_assets" / "debian_audio"


def fetch_package(pkg: Package, cache: Path) -> tuple[Path, dict]:
    """Download (pinned version, else the candidate) and extract one package; returns its root and facts."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{pkg.name}_*.deb"))
    if not found:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise RuntimeError("apt-get and dpkg-deb are needed to fetch the corpus packages")
        for spec in (f"{pkg.name}={pkg.version}", pkg.name):
            done = subprocess.run(["apt-get", "download", "-q", spec], cwd=debs, capture_output=True, text=True,
                                  check=False)
            if done.returncode == 0:
                break
            log.warning("apt-get download %s failed: %s", spec, done.stderr.strip()[-300:])
        else:
            raise RuntimeError(f"cannot download {pkg.name} (run apt-get update?): {done.stderr.strip()[-300:]}")
        found = sorted(debs.glob(f"{pkg.name}_*.deb"))
    deb = found[-1]
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    if version != pkg.version:
        log.warning("%s: using version %s, not the pinned %s", pkg.name, version, pkg.version)
    root = cache / "root" / f"{pkg.name}_{version}"
    if not (root / ".done").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        (root / ".done").touch()
    facts = {"name": pkg.name, "version": version, "deb": deb.name, "size_bytes": deb.stat().st_size,
             "sha256": hashlib.sha256(deb.read_bytes()).hexdigest()}
    return root, facts


def copyright_text(root: Path, package: str) -> str:
    """The package's Debian copyright file."""
    return (root / "usr/share/doc" / package / "copyright").read_text(encoding="utf-8", errors="replace")


def copyright_says(text: str, evidence: str, licence: str) -> bool:
    """Whether the copyright file ties ``licence`` to ``evidence`` (same DEP-5 stanza; free text: anywhere)."""
    if not text.startswith("Format:"):
        return _flat(evidence) in _flat(text)
    line = re.compile(rf"^License:\s*{re.escape(licence)}\s*$", re.MULTILINE)
    return any(_flat(evidence) in _flat(stanza) and line.search(stanza) for stanza in re.split(r"\n[ \t]*\n", text))


def _flat(text: str) -> str:
    """Text with every run of white space made one space."""
    return " ".join(text.split())


def dep5_license(text: str, path: str) -> str | None:
    """The licence a DEP-5 copyright file gives ``path`` (last matching ``Files:`` stanza wins)."""
    found = None
    for stanza in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", stanza, re.MULTILINE)
        licence = re.search(r"^License:\s*(\S.*)$", stanza, re.MULTILINE)
        if not files or not licence:
            continue
        for pattern in files.group(1).split():
            if pattern.startswith("debian/"):
                continue
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, "*/" + pattern):
                found = licence.group(1).strip()
    return found


@functools.lru_cache(maxsize=4)
def _opensfx_entries(path: Path) -> list[tuple[str, bytes]]:
    """OpenSFX's ``.cat`` archive: a table of (offset, size), then per entry a length-prefixed name + WAV."""
    data = path.read_bytes()
    entries = []
    for index in range((struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        length = data[offset]
        name = data[offset + 1:offset + 1 + length].decode("utf-8", "replace").rstrip("\0")
        entries.append((name, data[offset + 1 + length:offset + size]))
    return entries


def _package_recordings(pkg: Package, root: Path) -> list[Recording]:
    """The usable recordings of one package, each with its licence from the copyright file."""
    text = copyright_text(root, pkg.name)
    if pkg.license and not copyright_says(text, pkg.evidence, pkg.license):
        raise RuntimeError(f"{pkg.name}: copyright no longer gives {pkg.license} for {pkg.evidence!r}")
    paths = sorted({p.relative_to(root).as_posix() for pattern in pkg.patterns for p in root.glob(pattern)})
    paths = [p for p in paths if not any(fnmatch.fnmatch(p, x) for x in pkg.exclude)]
    recordings = []
    for path in paths:
        if path.endswith(".cat"):
            for index, (name, wav) in enumerate(_opensfx_entries(root / path)):
                title = name.split('"')[1] if name.count('"') >= 2 else name
                licence = next((v for k, v in OPENSFX_LICENSES.items() if k in name), None)
                if OPENSFX_SKIP.match(title) or licence is None:
                    continue
                if sf.info(io.BytesIO(wav)).duration < MIN_SECONDS["sound"]:
                    continue
                recordings.append(Recording(f"{pkg.name}:{Path(path).name}#{index:02d}", pkg.name, path,
                                            pkg.role, licence, title, entry=index, credit=name))
            continue
        licence = pkg.license or dep5_license(text, path)
        if licence is None:
            raise RuntimeError(f"{pkg.name}: no licence for {path}")
        if sf.info(str(root / path)).duration < MIN_SECONDS[pkg.role]:
            continue
        short = "/".join(path.split("/")[-2:]) if pkg.role == "speech" else Path(path).name
        recordings.append(Recording(f"{pkg.name}:{short}", pkg.name, path, pkg.role, licence,
                                    Path(path).stem, pkg.language))
    return recordings


def _assign_splits(recordings: list[Recording]) -> dict[str, str]:
    """Alternate each package's recordings (in hash order) between the splits, counting on across the
    packages of one role, so that every package and every role is split about half and half."""
    split_of, counts = {}, {}
    for name in sorted({r.package for r in recordings}):
        mine = (r for r in recordings if r.package == name)
        for rec in sorted(mine, key=lambda r: hashlib.sha256(r.id.encode()).digest()):
            split_of[rec.id] = SPLITS[counts.get(rec.role, 0) % 2]
            counts[rec.role] = counts.get(rec.role, 0) + 1
    return split_of


def load_library(cache: Path | None = None, packages: Iterable[Package] = PACKAGES) -> Library:
    """Fetch and extract every package, list its recordings and split them."""
    cache = Path(cache) if cache else default_cache()
    roots, debs, recordings = {}, {}, []
    for pkg in packages:
        roots[pkg.name], debs[pkg.name] = fetch_package(pkg, cache)
        recordings += _package_recordings(pkg, roots[pkg.name])
    return Library(roots, debs, recordings, _assign_splits(recordings))


def active_db(x: np.ndarray) -> float:
    """Level of the active part: power of the 50 ms frames within 30 dB of the loudest, in dBFS."""
    frames = x[: len(x) // 800 * 800].reshape(-1, 800) if len(x) >= 800 else x[None, :]
    power = (frames.astype(np.float64) ** 2).mean(axis=1)
    if power.max() <= 1e-12:
        return -120.0
    return float(10 * np.log10(power[power >= power.max() * 1e-3].mean()))


def _fade(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    """Short linear fades at both ends (no clicks at cuts)."""
    n = min(int(seconds * RATE), len(x) // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        x = x.copy()
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _loudest_window(x: np.ndarray, length: int) -> int:
    """Start of the ``length``-sample window with the most energy (10 ms hops)."""
    if len(x) <= length:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(0, len(x) - length + 1, RATE // 100)
    return int(starts[np.argmax(energy[starts + length] - energy[starts])])


def _speech(lib: Library, rng: np.random.Generator, split: str, language: str) -> tuple[np.ndarray, list[dict]]:
    """Prompts of one language read one after another with short pauses, filling most of the clip."""
    total = int(CLIP_SECONDS * RATE)
    track = np.zeros(total, np.float32)
    pool, parts = lib.pool(split, "speech", language=language), []
    at = int(rng.uniform(0.0, 0.8) * RATE)
    while total - at > 1.2 * RATE:
        for _ in range(8):  # prefer a prompt that fits whole
            rec = pool[rng.integers(len(pool))]
            if len(lib.audio(rec)) <= total - at:
                break
        else:
            if parts:
                break
        audio = lib.audio(rec)[: total - at]
        track[at:at + len(audio)] += _fade(audio)
        parts.append({"role": "speech", "recording": rec.id, "start_s": 0.0, "at_s": round(at / RATE, 3),
                      "duration_s": round(len(audio) / RATE, 3)})
        at += len(audio) + int(rng.uniform(0.2, 0.7) * RATE)
    return track, parts


def _music(lib: Library, rng: np.random.Generator, split: str) -> tuple[np.ndarray, list[dict]]:
    """A 10 s excerpt of one instrumental track, away from quiet intros and fades."""
    pool = lib.pool(split, "music")
    rec = pool[rng.integers(len(pool))]
    audio, length = lib.audio(rec), int(CLIP_SECONDS * RATE)
    overall = active_db(audio)
    for _ in range(20):
        start = int(rng.integers(0, len(audio) - length))
        if active_db(audio[start:start + length]) > overall - 10:
            break
    excerpt = _fade(audio[start:start + length], 0.05)
    return excerpt, [{"role": "music", "recording": rec.id, "start_s": round(start / RATE, 3), "at_s": 0.0,
                      "duration_s": CLIP_SECONDS}]


def _events(lib: Library, rng: np.random.Generator, split: str, count: int,
            levels: tuple[float, float]) -> tuple[np.ndarray, list[dict]]:
    """``count`` short events (0.3-2 s), about half overlapping the one before, each at its own level."""
    total = int(CLIP_SECONDS * RATE)
    track = np.zeros(total, np.float32)
    weights = {"openttd-opensfx": 0.65, "bucklespring-data": 0.25, "sound-theme-freedesktop": 0.1}
    names = list(weights)
    parts, previous = [], None
    for _ in range(count):
        package = names[rng.choice(len(names), p=list(weights.values()))]
        pool = lib.pool(split, "sound", package=package)
        rec = pool[rng.integers(len(pool))]
        audio = lib.audio(rec)
        length = min(len(audio), int(rng.uniform(0.3, 2.0) * RATE))
        start = _loudest_window(audio, length)
        event = _fade(audio[start:start + length])
        if previous and rng.random() < 0.5:
            at = previous[0] + int(rng.uniform(0.1, 0.8) * previous[1])
        else:
            at = int(rng.integers(0, total - length + 1))
        at = min(at, total - length)
        level = float(rng.uniform(*levels))
        gain = 10 ** ((level - active_db(event)) / 20)
        track[at:at + length] += gain * event
        previous = (at, length)
        parts.append({"role": "sound", "recording": rec.id, "start_s": round(start / RATE, 3),
                      "at_s": round(at / RATE, 3), "duration_s": round(length / RATE, 3), "level_db": round(level, 1)})
    return track, parts


def _set_level(track: np.ndarray, parts: list[dict], level: float) -> np.ndarray:
    """Scale a track to ``level`` dBFS active level and note it on its parts."""
    for part in parts:
        part["level_db"] = round(level, 1)
    return track * np.float32(10 ** ((level - active_db(track)) / 20))


def build_clip(lib: Library, domain: str, index: int) -> tuple[np.ndarray, dict]:
    """Mix clip ``index`` of ``domain``: the audio (16 kHz mono float32) and its manifest facts."""
    rng = np.random.default_rng([SEED, DOMAINS.index(domain), index])
    split = SPLITS[index % 2]
    total = int(CLIP_SECONDS * RATE)
    mix, parts, language = np.zeros(total, np.float32), [], ""
    if domain == "000":
        if (index // 2) % 2:
            spectrum = np.fft.rfft(rng.standard_normal(total)) / np.sqrt(np.arange(1, total // 2 + 2))
            noise = np.fft.irfft(spectrum, total).astype(np.float32)  # pink-ish noise
            mix = noise * np.float32(10 ** (-70 / 20) / np.sqrt(np.mean(noise.astype(np.float64) ** 2)))
            parts = [{"role": "noise", "recording": f"generated:noise-70dBFS-{index:03d}", "level_db": -70.0}]
        else:
            parts = [{"role": "silence", "recording": f"generated:digital-silence-{index:03d}"}]
    reference = float(rng.uniform(-29, -23))
    if has_part(domain, "speech"):
        language = LANGUAGES[(index // 2) % len(LANGUAGES)]
        track, speech = _speech(lib, rng, split, language)
        mix, parts = mix + _set_level(track, speech, reference), parts + speech
    if has_part(domain, "music"):
        level = reference - float(rng.uniform(10, 20)) if has_part(domain, "speech") else reference
        track, music = _music(lib, rng, split)
        mix, parts = mix + _set_level(track, music, level), parts + music
    if has_part(domain, "sound"):
        if domain == "00A":
            track, events = _events(lib, rng, split, int(rng.integers(3, 7)), (-32.0, -22.0))
        else:
            track, events = _events(lib, rng, split, int(rng.integers(2, 5)), (reference - 15, reference - 6))
        mix, parts = mix + track, parts + events
    peak = float(np.abs(mix).max())
    if peak > 0.97:
        mix = mix * np.float32(0.97 / peak)
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(mix.astype(np.float64)) if peak > 1e-3 else None
    by_id = {r.id: r for r in lib.recordings}
    licences = sorted({by_id[p["recording"]].license if p["recording"] in by_id else GENERATED_LICENSE
                       for p in parts})
    clip_id = f"rc-{domain}-{index:03d}"
    row = {"audio": f"audio/{clip_id}.flac", "source_id": clip_id, "title": "",
           "license": " AND ".join(licences), "domain": domain, "split": split, "language": language,
           "source_recordings": ";".join(sorted({p["recording"] for p in parts})),
           "levels_db": _levels(parts),
           "loudness_lufs": "" if loudness is None or not np.isfinite(loudness) else round(float(loudness), 1),
           "components": json.dumps(parts, sort_keys=True)}
    return mix.astype(np.float32), row


def _levels(parts: list[dict]) -> str:
    """Active levels in dBFS per role, e.g. ``speech=-25.1;music=-38.0;sound=-33.2,-35.0``."""
    levels: dict[str, list[str]] = {}
    for part in parts:
        if "level_db" in part and (part["role"] == "sound" or part["role"] not in levels):
            levels.setdefault(part["role"], []).append(str(part["level_db"]))
    return ";".join(f"{role}={','.join(values)}" for role, values in levels.items())


def write_clip(path: Path, audio: np.ndarray) -> None:
    """16-bit FLAC at 16 kHz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, RATE, format="FLAC", subtype="PCM_16")


def _write_licences(out: Path, lib: Library, rows: list[dict]) -> None:
    """``sources.json``, ``LICENSES.md`` and each package's copyright file, listing every file used."""
    used: dict[str, list[str]] = {}
    for row in rows:
        for rec_id in row["source_recordings"].split(";"):
            used.setdefault(rec_id, []).append(row["source_id"])
    by_package: dict[str, list[Recording]] = {}
    for rec in lib.recordings:
        if rec.id in used:
            by_package.setdefault(rec.package, []).append(rec)
    (out / "copyright").mkdir(exist_ok=True)
    packages, lines = [], ["# Licences of the real-recording corpus", "",
                           "Clips mix the files below; a clip's licence is every licence of its parts.",
                           f"Generated silence and noise: {GENERATED_LICENSE}.", ""]
    for name, facts in lib.debs.items():
        recs = by_package.get(name, [])
        shutil.copyfile(lib.roots[name] / "usr/share/doc" / name / "copyright", out / "copyright" / f"{name}.txt")
        files = [{"recording": r.id, "path": r.path, "entry": r.entry, "title": r.title, "license": r.license,
                  "credit": r.credit, "split": lib.split_of[r.id], "clips": len(used[r.id])} for r in recs]
        packages.append({**facts, "licenses": sorted({r.license for r in recs}), "files": files})
        lines += [f"## {name} {facts['version']}", "",
                  (f"Licences: {', '.join(sorted({r.license for r in recs}))}; {len(recs)} files used; "
                   f"copyright: `copyright/{name}.txt`; .deb sha256 `{facts['sha256']}`."), ""]
        lines += [f"- `{r.path}{'#' + str(r.entry) if r.entry is not None else ''}`: {r.credit or r.title} "
                  f"({r.license})" for r in recs] + [""]
    (out / "sources.json").write_text(json.dumps({"seed": SEED, "packages": packages}, indent=1) + "\n")
    (out / "LICENSES.md").write_text("\n".join(lines))


def build_real_corpus(out: Path, cache: Path | None = None) -> Path:
    """Fetch the packages, mix every clip into ``out/audio`` and write the manifest (returned) and licences."""
    out = Path(out)
    lib = load_library(cache)
    rows = []
    for domain in DOMAINS:
        for index in range(DOMAIN_COUNTS[domain]):
            audio, row = build_clip(lib, domain, index)
            write_clip(out / row["audio"], audio)
            rows.append(row)
    for number, row in enumerate(rows, 1):
        row["title"] = f"Recording {number:03d}"
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _write_licences(out, lib, rows)
    return manifest


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for audio/, manifest.csv, LICENSES.md, sources.json")
    parser.add_argument("--cache", type=Path, default=None, help=f"package cache (default {default_cache()})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    began = time.monotonic()
    path = build_real_corpus(args.out, args.cache)
    print(f"wrote {path} in {time.monotonic() - began:.0f} s")
