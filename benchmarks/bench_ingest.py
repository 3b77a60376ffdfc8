"""Speed of the two heavy ingest stages, in audio-seconds processed per wall-second.

    python benchmarks/bench_ingest.py [--clips 300] [--workers 2]

Generates a corpus of mixed formats (44.1 kHz stereo WAV, 48 kHz FLAC, 22.05 kHz MP3, 10 s
each), then times
  decode:    acav_assets.ingest.clip_decoding.decode_shard (decode, downmix, resample, FLAC, tar)
             against librosa.load(path, sr=16000, mono=True) and a FLAC encode per file,
             one file after another (the same output, done the obvious way);
  acoustics: acav_assets.experts.shard_runner.analyse_shard with measure_acoustics over the tar
             against benchmarks/acoustics_baseline.naive_measure_acoustics per clip.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from acoustics_baseline import naive_measure_acoustics  # noqa: E402

from acav_assets.experts import acoustics  # noqa: E402
from acav_assets.experts.shard_runner import analyse_shard  # noqa: E402
from acav_assets.ingest.clip_decoding import decode_shard  # noqa: E402
from acav_assets.ingest.shard_plans import plan_shards  # noqa: E402
from acav_assets.io.audio_shards import read_audio_shard  # noqa: E402

FORMATS = [("wav", 44_100, 2), ("flac", 48_000, 1), ("mp3", 22_050, 1)]


def make_corpus(folder: Path, clips: int, seconds: float = 10.0) -> Path:
    rng = np.random.default_rng(0)
    names = []
    for i in range(clips):
        ext, rate, channels = FORMATS[i % len(FORMATS)]
        t = np.arange(int(seconds * rate)) / rate
        envelope = (np.sin(2 * np.pi * 0.5 * t) > 0).astype(np.float32)
        signal = 0.3 * np.sin(2 * np.pi * (200 + 5 * i) * t) * envelope + 0.01 * rng.standard_normal(t.size)
        audio = np.repeat(signal[:, None], channels, axis=1).astype(np.float32)
        sf.write(folder / f"clip{i:04d}.{ext}", audio, rate)
        names.append(f"clip{i:04d}.{ext}")
    manifest = folder / "bench.csv"
    manifest.write_text("audio\n" + "\n".join(names) + "\n")
    return manifest


def report(stage: str, audio_seconds: float, ours: float, baseline: float, baseline_name: str) -> None:
    print(
        f"{stage:<10} ours {audio_seconds / ours:8.1f} audio-s/s | {baseline_name} {audio_seconds / baseline:8.1f} "
        f"audio-s/s | ratio {baseline / ours:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import librosa

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = make_corpus(folder, args.clips)
        (plan,) = plan_shards(str(manifest), 10.0, 1.0, shard_size=args.clips).values()
        files = [folder / line for line in manifest.read_text().split()[1:]]
        librosa.load(files[0], sr=16_000, mono=True)  # warm-up (numba, resampler)

        started = time.perf_counter()
        table = decode_shard(plan, str(folder / "shard.tar"), workers=args.workers, progress_every_s=1e9)
        ours = time.perf_counter() - started
        audio_seconds = sum(table["duration_s"].to_pylist())
        started = time.perf_counter()
        for path in files:
            audio, _ = librosa.load(path, sr=16_000, mono=True)
            sf.write(io.BytesIO(), audio, 16_000, format="FLAC", subtype="PCM_16")
        report("decode", audio_seconds, ours, time.perf_counter() - started, "librosa.load+FLAC")

        started = time.perf_counter()
        analyse_shard(str(folder / "shard.tar"), "bench", acoustics.ACOUSTIC_FIELDS, acoustics.measure_acoustics,
                      workers=args.workers, progress_every_s=1e9)
        ours = time.perf_counter() - started
        clips = [audio for _, audio, _ in read_audio_shard(str(folder / "shard.tar"))]
        started = time.perf_counter()
        for audio in clips:
            naive_measure_acoustics(audio, 16_000)
        report("acoustics", audio_seconds, ours, time.perf_counter() - started, "naive loops")
        print(f"corpus: {args.clips} clips, {audio_seconds:.0f} s of audio, {args.workers} workers")


if __name__ == "__main__":
    main()
