"""Shared fixtures: a generated corpus of good and deliberately broken audio files."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import numpy as np
import pytest
import soundfile as sf

from acav_assets.defs import experts, ingest
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import (
    AcavSettings,
    LalmResource,
    SpeechModelsResource,
    TaggerResource,
)
from acav_assets.ingest.shard_plans import plan_shards, store_shard_plans
from acav_assets_tests.fixtures import RATE, tone, write_long_wav, write_mp4
from acav_assets_tests.reference_data import MECAT_SAMPLE_FILE

os.environ["HF_HUB_OFFLINE"] = "1"

@pytest.fixture(scope="session")
def bad_corpus(tmp_path_factory) -> dict:
    """Good files in several formats plus every kind of bad input; returns paths and expectations."""
    folder = tmp_path_factory.mktemp("bad_corpus")
    good = {
        "good.flac": lambda p: sf.write(p, tone(3.0), RATE),
        "good.mp3": lambda p: sf.write(p, tone(3.0, rate=44_100), 44_100),
        "good.ogg": lambda p: sf.write(p, tone(3.0, rate=22_050), 22_050),
        "video.mp4": lambda p: write_mp4(p, tone(3.0, rate=48_000), 48_000),
        "silence.wav": lambda p: sf.write(p, np.zeros(3 * RATE, np.float32), RATE),
        "eight_channels_96k.wav": lambda p: sf.write(
            p, np.tile(tone(2.0, rate=96_000)[:, None], (1, 8)), 96_000, subtype="PCM_24"
        ),
        "café ü.wav": lambda p: sf.write(p, tone(2.0), RATE),
    }
    for name, make in good.items():
        make(folder / name)
    write_long_wav(folder / "thirty_minutes.wav", 30 * 60)
    full = folder / "to_truncate.flac"
    sf.write(full, (0.1 * np.random.default_rng(2).standard_normal(8 * RATE)).astype(np.float32), RATE)
    data = full.read_bytes()
    (folder / "truncated.flac").write_bytes(data[: len(data) * 4 // 10])
    full.unlink()
    sf.write(folder / "full.wav", tone(8.0), RATE)
    data = (folder / "full.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    (folder / "full.wav").unlink()
    (folder / "zero_length.wav").write_bytes(b"")
    (folder / "text.wav").write_text("this is a text file, not audio\n" * 20)
    nan = tone(2.0)
    nan[100:110] = np.nan
    nan[500] = np.inf
    sf.write(folder / "nan_inf.wav", nan, RATE, subtype="FLOAT")

    rows = [
        "good.flac", "good.mp3", "good.ogg", "video.mp4", "silence.wav", "eight_channels_96k.wav",
        "café ü.wav", "thirty_minutes.wav", "truncated.flac", "truncated.wav", "zero_length.wav",
        "text.wav", "nan_inf.wav", "missing.wav",
    ]
    manifest = folder / "manifest.csv"
    manifest.write_text("audio,title\n" + "".join(f'"{name}",clip {i}\n' for i, name in enumerate(rows)))
    return {
        "folder": folder,
        "manifest": manifest,
        # file -> the error kind its clip must get (None: decodes)
        "expected": {
            "good.flac": None, "good.mp3": None, "good.ogg": None, "video.mp4": None, "silence.wav": None,
            "eight_channels_96k.wav": None, "café ü.wav": None, "truncated.wav": None,
            "truncated.flac": "truncated_or_corrupt", "zero_length.wav": "empty_file",
            "text.wav": "unreadable_format", "nan_inf.wav": "non_finite_samples", "missing.wav": "missing_file",
        },
    }




@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`acav-assets demo` once per session (its results are read by the end-to-end and UI tests)."""
    root = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, ACAV_DATA_ROOT=str(root / "data"), DAGSTER_HOME=str(root / "dagster_home"),
               HF_HUB_OFFLINE="1", ACAV_COMPARE_DATASETS=f"MECAT-sample=acav:{MECAT_SAMPLE_FILE}")
    result = subprocess.run([sys.executable, "-m", "acav_assets.cli", "demo"], env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return root, result.stdout


@pytest.fixture(scope="session")
def expert_run(bad_corpus, tmp_path_factory):
    """A shard of good, silent and broken files through every per-shard asset and check."""
    root = str(tmp_path_factory.mktemp("experts") / "data")
    manifest = bad_corpus["folder"] / "experts.csv"
    names = ["good.flac", "good.ogg", "silence.wav", "video.mp4", "text.wav", "missing.wav"]
    manifest.write_text("audio,title,tags\n" + "".join(f"{n},&quot;{n}&quot; https://x.y,a|A|b\n" for n in names))
    shards = plan_shards(str(manifest), 10.0, 1.0, 1000)
    store_shard_plans(shards, root)
    (shard,) = shards
    settings = AcavSettings(data_root=root, max_error_rate=0.5)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(shard_partitions.name, [shard])
        result = dg.materialize(
            [*dg.load_assets_from_modules([ingest, experts]),
             *dg.load_asset_checks_from_modules([ingest, experts])],
            selection=dg.AssetSelection.groups("ingest", "experts"),
            partition_key=shard, instance=instance,
            resources={"settings": settings, "tagger": TaggerResource(),
                       "speech_models": SpeechModelsResource(), "lalm": LalmResource()},
        )
    return settings, shard, result
