"""Cost of every stage of the lite graph, in one run through the CLI's own path (``make bench``).

    python benchmarks/bench_pipeline.py [--copies 4] [--workers 1] [--baseline-clips 12]

Registers the demo corpus repeated ``--copies`` times (half of its clips hold speech) in a fresh
data root and materialises it as ``acav-assets materialize`` does (long-lived run workers, every
run recorded in a Dagster instance). Then prints, per stage:

* the Dagster step time summed over the shards, and audio-seconds per wall-second of that step;
* the time inside the stage's own loop over the clips (models and DSP, as the stage's progress
  report gives it), so the rest of the step is Parquet, checks and Dagster;
* for decoding, speech and music, the same clips done the naive way (``librosa.load`` per file;
  faster-whisper clip by clip with its default settings; the music analyses with no sharing or
  gating), and the ratio.

and for the whole graph: audio-seconds per wall-second from registration to the statistics, and
the share of wall time spent outside the stages' loops (orchestration and I/O).
Machine-dependent figures: run on an idle machine and state the core count with them.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_experts import replicate_manifest  # noqa: E402
from music_baseline import naive_music_seconds  # noqa: E402  (the music expert before sharing and gating)


def _step_seconds(instance) -> dict[str, float]:
    """Each asset's step time, summed over every run in ``instance``."""
    import dagster as dg

    seconds: dict[str, float] = collections.defaultdict(float)
    for record in instance.get_run_records():
        for event in instance.get_records_for_run(record.dagster_run.run_id,
                                                  of_type=dg.DagsterEventType.STEP_SUCCESS, limit=10_000).records:
            data = event.event_log_entry.dagster_event.event_specific_data
            seconds[event.event_log_entry.step_key] += data.duration_ms / 1000
    return seconds


def naive_decoding(paths: list[str]) -> float:
    import librosa

    librosa.load(paths[0], sr=16_000, mono=True)  # warm-up: resampler and numba caches
    started = time.perf_counter()
    for path in paths:
        librosa.load(path, sr=16_000, mono=True)
    return time.perf_counter() - started


def naive_speech(paths: list[str]) -> float:
    """faster-whisper clip by clip with its default settings (beam 5, VAD off), on the packaged model."""
    from faster_whisper import WhisperModel

    from acav_assets.experts.speech.asr import assemble_packaged_base

    model = WhisperModel(str(assemble_packaged_base()), device="cpu", compute_type="int8")
    started = time.perf_counter()
    for path in paths:
        segments, _ = model.transcribe(path)
        list(segments)
    return time.perf_counter() - started


def _duration(path: str) -> float:
    import soundfile as sf

    return sf.info(path).duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="demo corpus repeats (24 clips each)")
    parser.add_argument("--manifest", help="a manifest with a domain column to run instead of the demo corpus "
                        "(e.g. the real corpus of docs/real_corpus.md)")
    parser.add_argument("--shard-size", type=int, default=24, help="clips per shard (several shards show the "
                        "per-run cost)")
    parser.add_argument("--workers", type=int, default=1, help="run workers, as `materialize --workers`")
    parser.add_argument("--baseline-clips", type=int, default=12,
                        help="clips per naive baseline (a sample: the baselines are slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.update(ACAV_DATA_ROOT=str(folder / "data"), DAGSTER_HOME=str(folder / "dagster_home"),
                          HF_HUB_OFFLINE="1", ACAV_SHARD_SIZE=str(args.shard_size))
        Path(os.environ["DAGSTER_HOME"]).mkdir()
        manifest = Path(args.manifest).resolve() if args.manifest else replicate_manifest(folder, args.copies)
        rows = list(csv.DictReader(open(manifest)))
        for row in rows:  # audio paths as the baselines open them
            row["audio"] = str((manifest.parent / row["audio"]).resolve()) if "://" not in row["audio"] else row["audio"]
        from acav_assets import cli
        from acav_assets.defs.run_pool import RunPool, RunRequest

        started = time.perf_counter()
        shards = cli.register(str(manifest), prefix="bench")
        lines: list[str] = []
        with RunPool(args.workers, show=lines.append) as pool:
            outcomes = pool.run([RunRequest(cli.PER_SHARD_SELECTION, shard, f"shard {shard}") for shard in shards])
            outcomes += pool.run([RunRequest(cli.STATISTICS_SELECTION, label="statistics")])
        wall = time.perf_counter() - started
        failed = [o for o in outcomes if not o.success]
        if failed:
            sys.exit("benchmark run failed:\n" + "\n".join(p for o in failed for p in o.problems))

        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            steps = _step_seconds(instance)
        loops: dict[str, dict] = collections.defaultdict(lambda: {"clips": 0, "audio_seconds": 0.0, "seconds": 0.0})
        for totals in pool.stage_totals:
            for field in ("clips", "audio_seconds", "seconds"):
                loops[totals["stage"]][field] += totals[field]
        corpus_seconds = sum(_duration(r["audio"]) for r in rows)

        speech_paths = [r["audio"] for r in rows if r["domain"].startswith("S")][: args.baseline_clips]
        baselines = {
            "decoding": (naive_decoding, [r["audio"] for r in rows][: args.baseline_clips]),
            "speech": (naive_speech, speech_paths),
        }
        baselines["music"] = (naive_music_seconds, [r["audio"] for r in rows if r["domain"][1] == "M"]
                              [: args.baseline_clips])
        baseline_rates = {}
        for stage, (measure, paths) in baselines.items():
            baseline_rates[stage] = sum(_duration(p) for p in paths) / measure(paths)

        stage_of_step = {"clips": "decoding", "tags": "tagging"}
        print(f"corpus: {len(rows)} clips, {corpus_seconds:.0f} s of audio ({args.manifest or f'demo x {args.copies}'}, "
              f"{sum(r['domain'].startswith('S') for r in rows)} with speech), {len(shards)} shards, "
              f"{args.workers} worker(s), {os.cpu_count()} CPU cores\n")
        print("| stage | clips | audio s | step s | audio-s/s (step) | in loop s | naive audio-s/s | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        def cell(value, form="{:.1f}"):
            return "" if value is None else form.format(value)

        for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            stage = stage_of_step.get(step, step)
            loop = loops.get(stage, {})
            audio = loop.get("audio_seconds")
            rate = audio / seconds if audio else None
            naive = baseline_rates.get(stage)
            print(f"| {step} | {cell(loop.get('clips'), '{}')} | {cell(audio, '{:.0f}')} | {seconds:.1f} | {cell(rate)} | "
                  f"{cell(loop.get('seconds'))} | {cell(naive)} | {cell(rate / naive if naive and rate else None, '{:.1f}x')} |")
        inside = sum(loop["seconds"] for loop in loops.values())
        print(f"\nwhole graph: {corpus_seconds:.0f} s of audio in {wall:.1f} s = {corpus_seconds / wall:.1f} audio-s/s "
              f"(registration, worker start, every step, release and statistics)")
        print(f"outside the stages' loops (Dagster, worker start, Parquet, checks, statistics): "
              f"{wall - inside:.1f} s = {100 * (wall - inside) / wall:.1f} % of wall time")


if __name__ == "__main__":
    main()
