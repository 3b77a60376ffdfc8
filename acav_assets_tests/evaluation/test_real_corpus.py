"""The real-recording corpus: built from Debian packages (skipped without apt-get or a mirror), plus
offline checks of its parsers and that no corpus audio is committed."""

from __future__ import annotations

import csv
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acav_assets.contracts.domains import DOMAINS
from acav_assets.evaluation import real_corpus as rc

REPO_ROOT = Path(__file__).resolve().parents[2]
MIXTURES = ("S0A", "SM0", "0MA", "SMA")


@pytest.fixture(scope="module")
def library() -> rc.Library:
    """The packages, fetched into the user cache; skips when they cannot be downloaded."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("apt-get/dpkg-deb not available: the real corpus is built from Debian packages")
    try:
        return rc.load_library()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"Debian packages could not be fetched (network or apt lists missing): {error}")


@pytest.fixture(scope="module")
def corpus(library, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("real_corpus")
    manifest = rc.build_real_corpus(out)
    with manifest.open(encoding="utf-8") as handle:
        return out, list(csv.DictReader(handle))


def test_counts_per_domain_and_split(corpus):
    _, rows = corpus
    assert len(rows) >= 150
    for domain in DOMAINS:
        mine = [r for r in rows if r["domain"] == domain]
        assert len(mine) == rc.DOMAIN_COUNTS[domain]
        assert sum(r["split"] == "calibration" for r in mine) == len(mine) // 2
    assert all(rc.DOMAIN_COUNTS[d] >= 15 for d in MIXTURES)
    assert {r["language"] for r in rows if r["domain"].startswith("S")} == set(rc.LANGUAGES)


def test_no_source_recording_in_both_splits(corpus):
    _, rows = corpus
    split_of: dict[str, set] = {}
    for row in rows:
        for rec in row["source_recordings"].split(";"):
            split_of.setdefault(rec, set()).add(row["split"])
    assert all(len(splits) == 1 for splits in split_of.values())
    music = [s for rec, s in split_of.items() if rec.split(":")[0] in ("asc-music", "asterisk-moh-opsound-wav")]
    assert {next(iter(s)) for s in music} == set(rc.SPLITS)


def test_every_clip_has_a_licence_and_every_package_is_listed(corpus):
    out, rows = corpus
    assert all(row["license"] for row in rows)
    sources = json.loads((out / "sources.json").read_text())
    names = {p["name"] for p in sources["packages"]}
    assert names == {p.name for p in rc.PACKAGES}
    files = {f["recording"]: f["license"] for p in sources["packages"] for f in p["files"]}
    for row in rows:
        parts = [files.get(rec, rc.GENERATED_LICENSE) for rec in row["source_recordings"].split(";")]
        assert row["license"] == " AND ".join(sorted(set(parts)))
    assert all(p["version"] and p["licenses"] and len(p["sha256"]) == 64 for p in sources["packages"])
    assert all((out / "copyright" / f"{name}.txt").is_file() for name in names)
    assert "openttd-opensfx" in (out / "LICENSES.md").read_text()


def test_clips_are_ten_second_mono_16k(corpus):
    out, rows = corpus
    for row in rows:
        info = sf.info(str(out / row["audio"]))
        assert (info.samplerate, info.channels, info.frames) == (rc.RATE, 1, rc.RATE * 10)
    silent = [row for row in rows if row["domain"] == "000"]
    assert {json.loads(r["components"])[0]["role"] for r in silent} == {"silence", "noise"}


def test_a_clip_rebuilds_byte_identical(corpus, tmp_path):
    out, rows = corpus
    row = next(r for r in rows if r["source_id"] == "rc-SMA-005")
    fresh = rc.load_library()
    first, facts = rc.build_clip(fresh, "SMA", 5)
    second, _ = rc.build_clip(rc.load_library(), "SMA", 5)
    assert np.array_equal(first, second)
    rc.write_clip(tmp_path / "again.flac", first)
    assert (tmp_path / "again.flac").read_bytes() == (out / row["audio"]).read_bytes()
    assert facts["components"] == row["components"]


def test_dep5_licence_per_file():
    text = ("Format: x\n\nFiles: *\nCopyright: a\nLicense: GPL-2+\n\n"
            "Files: stereo/bell.oga\n stereo/shutter.oga\nCopyright: b\nLicense: CC-BY-SA-3.0\n")
    assert rc.dep5_license(text, "usr/share/sounds/stereo/shutter.oga") == "CC-BY-SA-3.0"
    assert rc.dep5_license(text, "usr/share/sounds/other.oga") == "GPL-2+"
    assert rc.copyright_says(text, "Copyright: b", "CC-BY-SA-3.0")
    assert not rc.copyright_says(text, "Copyright: a", "CC-BY-SA-3.0")


def test_opensfx_archive_parser(tmp_path):
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), np.zeros(100, np.float32), 44_100)
    names = [b'"Bell". License: Creative Commons Zero 1.0.\x00', b'"Horn".\x00']
    table_size = 8 * len(names)
    body, table = b"", b""
    for name in names:
        entry = bytes([len(name)]) + name + wav.read_bytes()
        table += struct.pack("<II", (table_size + len(body)) | 0x80000000, len(entry))
        body += entry
    (tmp_path / "set.cat").write_bytes(table + body)
    entries = rc._opensfx_entries(tmp_path / "set.cat")
    assert [e[0] for e in entries] == ['"Bell". License: Creative Commons Zero 1.0.', '"Horn".']
    assert all(e[1] == wav.read_bytes() for e in entries)


def test_active_level_ignores_pauses():
    t = np.arange(rc.RATE) / rc.RATE
    tone = (0.1 * np.sqrt(2) * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # -20 dBFS RMS
    assert rc.active_db(np.concatenate([tone, np.zeros(3 * rc.RATE, np.float32)])) == pytest.approx(-20, abs=0.1)


def test_corpus_audio_is_not_committed():
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = [REPO_ROOT / p for p in listed.decode().split("\0") if p]
    big = [str(p.relative_to(REPO_ROOT)) for p in paths if p.is_file() and p.stat().st_size > 2_000_000]
    assert not big, f"large files committed: {big}"
    assert not [p for p in paths if "rc-" in p.name and p.suffix == ".flac"], "built corpus clips are committed"
