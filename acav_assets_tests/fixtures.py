"""Builders of test data shared by several test modules: tones, audio files in awkward
containers, clips-table rows, and labelled tone examples for the training tests."""

from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import soundfile as sf

from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.training.examples import Example
from acav_assets_tests.tiny_audio_models import VOICE_RANGES
from acav_assets_tests.tiny_audio_models import tone as voice_tone

RATE = 16_000


def tone(seconds: float, frequency: float = 440.0, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_mp4(path: Path, audio: np.ndarray, rate: int) -> None:
    """AAC audio in an MP4 container, as a video file's audio track would be."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "stereo"
        stereo = np.ascontiguousarray(np.stack([audio, audio]))
        for start in range(0, stereo.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(stereo[:, start : start + 1024]), format="fltp", layout="stereo"
            )
            frame.rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_long_wav(path: Path, seconds: float, rate: int = RATE) -> None:
    """A long 16-bit WAV written block by block (never held in memory whole)."""
    rng = np.random.default_rng(1)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        for _ in range(int(seconds // 60)):
            handle.write((0.1 * rng.standard_normal(60 * rate)).astype(np.float32))


def clip_rows(shard: str, statuses: list[str]) -> pa.Table:
    rows = []
    for i, status in enumerate(statuses):
        rows.append(
            {"key": f"{shard}_{i}_0_10", "shard": shard, "source": f"/a/{shard}{i}.wav", "start_s": 0.0,
             "end_s": 10.0, "source_id": f"{shard}{i}", "manifest": "m.csv", "manifest_row": i + 1,
             "duration_s": 10.0 if status == "ok" else None, "status": status,
             "error_kind": None if status == "ok" else "unreadable_format",
             "error": None if status == "ok" else "bad"}
        )
    return pa.Table.from_pylist(rows, schema=CLIPS_SCHEMA)


def tone_examples(seed: int, count: int) -> list[Example]:
    rng = np.random.default_rng(seed)
    labels = list(VOICE_RANGES)
    return [Example(f"tone{seed}_{i}", voice_tone(labels[i % 4], rng), "Which voice range is this note?", labels[i % 4])
            for i in range(count)]


def shuffled(examples):
    def source(seed, part, parts):
        order = examples[:]
        random.Random(seed).shuffle(order)
        return order[part::parts]
    return source
