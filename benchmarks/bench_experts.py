"""Speed of the expert stage (lite profile, CPU), in audio-seconds per wall-second.

    python benchmarks/bench_experts.py [--copies 8]

Builds a corpus of the demo clips repeated ``--copies`` times (24 x 8 = 192 clips by default),
decodes it into one shard tar, then runs each expert as the Dagster assets do (same core
functions, same order) and prints, per expert: clips, audio seconds, wall seconds,
audio-seconds per wall-second, and the share of wall time spent outside model/DSP code
(reading the tar, FLAC decoding, building rows and Arrow tables: the orchestration cost).
The model/DSP time is measured inside the expert's analysis call (for tagging: inside
``tagger.predict`` and the front end), so "outside" = wall - inside.
"""

from __future__ import annotations

import argparse
import csv
import functools
import tempfile
import time
from pathlib import Path

from acav_assets.cli import DEMO_MANIFEST
from acav_assets.experts.metadata import analyse_metadata
from acav_assets.experts.music import (
    MUSIC_FIELDS,
    VOCAL_FIELDS,
    analyse_music_and_vocals,
)
from acav_assets.experts.routing import ContentGroups, RoutingThresholds, route_row
from acav_assets.experts.shard_runner import analyse_shard
from acav_assets.experts.speech.analysis import SPEECH_FIELDS, analyse_speech
from acav_assets.experts.speech.asr import WhisperRecognizer
from acav_assets.experts.speech.gender import GenderEstimator
from acav_assets.experts.speech.vad import SileroVad
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.experts.tagging.tag_table import label_mids_of, tag_shard
from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger
from acav_assets.ingest.clip_decoding import decode_shard
from acav_assets.ingest.shard_plans import plan_shards


class Stopwatch:
    """Wraps a callable and adds up the time spent inside it (thread-unsafe; workers=1)."""

    def __init__(self, function):
        self.function, self.seconds = function, 0.0
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def replicate_manifest(folder: Path, copies: int) -> Path:
    """The demo manifest with every row repeated under distinct source ids."""
    with open(DEMO_MANIFEST) as handle:
        rows = list(csv.DictReader(handle))
    out = folder / "bench.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(copies):
            for row in rows:
                writer.writerow({**row, "audio": str(DEMO_MANIFEST.parent / row["audio"]),
                                 "source_id": f"{row['source_id']}-c{copy}"})
    return out


def report(name: str, clips: int, audio_s: float, wall_s: float, inside_s: float) -> tuple[float, float]:
    outside = max(0.0, wall_s - inside_s) / wall_s if wall_s else 0.0
    print(f"{name:<13} {clips:5d} clips {audio_s:8.0f} audio-s {wall_s:7.1f} wall-s "
          f"{audio_s / wall_s:8.1f} audio-s/s   outside model/DSP {100 * outside:5.1f} %")
    return wall_s, inside_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    args = parser.parse_args()
    ontology = load_ontology()
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (plan,) = plan_shards(str(replicate_manifest(folder, args.copies)), 10.0, 1.0, 100_000).values()
        tar = str(folder / "shard.tar")
        clips = decode_shard(plan, tar, workers=2, progress_every_s=1e9).to_pylist()
        duration = {c["key"]: c["duration_s"] for c in clips if c["status"] == "ok"}
        corpus_s = sum(duration.values())
        print(f"corpus: {len(duration)} clips, {corpus_s:.0f} s of audio (demo corpus x {args.copies})\n")

        tagger = YamnetTagger()
        tagger.predict = Stopwatch(tagger.predict)
        names = [ontology.name(m) for m in tagger.label_mids]
        started = time.perf_counter()
        tags = tag_shard(tar, "bench", tagger, names)
        totals.append(report("tags", tags.num_rows, corpus_s, time.perf_counter() - started, tagger.predict.seconds))

        groups = ContentGroups.from_labels(label_mids_of(tags), ontology)
        started = time.perf_counter()
        routes = {r["key"]: route_row(r, groups, RoutingThresholds(), False)["domain"] for r in tags.to_pylist()}
        wall = time.perf_counter() - started
        totals.append(report("routing", len(routes), corpus_s, wall, wall))

        vad, asr, gender = SileroVad(), WhisperRecognizer.packaged_base(), GenderEstimator()
        speech = Stopwatch(lambda audio, sample_rate: analyse_speech(audio, vad, asr, gender, sample_rate=sample_rate))
        keys = {k for k, d in routes.items() if d[0] == "S"}
        started = time.perf_counter()
        analyse_shard(tar, "bench", SPEECH_FIELDS, speech, keys=keys, workers=1, progress_every_s=1e9)
        totals.append(report("speech", len(keys), sum(duration[k] for k in keys), time.perf_counter() - started,
                             speech.seconds))

        keys = {k for k, d in routes.items() if d[1] == "M"}
        scores = {r["key"]: dict(zip(names, r["clip_scores"])) for r in tags.to_pylist() if r["key"] in keys}
        vocals = functools.partial(analyse_speech, vad=vad, asr=asr, gender=gender)
        music = Stopwatch(lambda audio, sample_rate, tag_scores: analyse_music_and_vocals(
            audio, sample_rate, tag_scores=tag_scores, analyse_vocals=vocals))
        started = time.perf_counter()
        analyse_shard(tar, "bench", MUSIC_FIELDS + VOCAL_FIELDS, music, keys=keys,
                      clip_kwargs={k: {"tag_scores": v} for k, v in scores.items()}, workers=1, progress_every_s=1e9)
        totals.append(report("music", len(keys), sum(duration[k] for k in keys), time.perf_counter() - started,
                             music.seconds))

        metadata = Stopwatch(analyse_metadata)
        started = time.perf_counter()
        for clip in clips:
            if clip["status"] == "ok":
                metadata(clip["title"], clip["description"], clip["tags"])
        totals.append(report("metadata", len(duration), corpus_s, time.perf_counter() - started, metadata.seconds))

        wall = sum(w for w, _ in totals)
        inside = sum(i for _, i in totals)
        print()
        report("expert stage", len(duration), corpus_s, wall, inside)
        # Sound events and evidence are table operations over the tags (milliseconds per shard).


if __name__ == "__main__":
    main()
