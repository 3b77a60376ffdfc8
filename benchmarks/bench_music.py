"""Speed of the music expert, part by part, before and after sharing one spectrogram and gating the vocals.

    python benchmarks/bench_music.py [--manifest CSV] [--copies 1] [--limit 0] [--workers 1] [--sung-words]

Clips: the manifest rows whose domain has music (second letter ``M``), by default the demo corpus;
the real corpus's manifest works the same way. Each is loaded at 16 kHz and tagged with YAMNet
first (not timed), since the music expert gets the tagger's scores. Then clip by clip the old
expert (``benchmarks/music_baseline.py``) and the new one (``acav_assets.experts.music``) run one
after the other, so that both see the same machine load, and every part is timed in wall and
process-CPU seconds. Printed: per part and in total, seconds and audio-seconds per second (wall
and CPU), and how often the results differ. On a shared machine wall time grows with the other
load while CPU time does not; compare the CPU columns across runs.

``--workers N`` (N > 1) also times both over all clips on N threads, as the shard runner does.
``--sung-words`` loads the speech models so that clips with ``has_vocals`` also get their sung
words (old: the whole speech analysis; new: VAD and ASR only).
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
import time
from pathlib import Path

import librosa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import music_baseline as old_music

from acav_assets.cli import DEMO_MANIFEST
from acav_assets.experts import music as new_music
from acav_assets.experts.music import PartTimes
from acav_assets.ingest.clip_decoding import bounded_map

RATE = 16_000
# The old module's helpers, timed under these part names by wrapping them.
OLD_PARTS = {"integrated_loudness_lufs": "loudness", "_rhythm": "rhythm (own STFT)", "_stft": "stft",
             "_harmonic_mask": "hpss", "_vocal_mask": "vocal_separation", "_key": "key (CQT chroma)"}
NEW_ORDER = ("loudness", "stft", "onset", "tempo_beats", "hpss", "key", "vocal_separation", "sung_words")


def music_clips(manifest: Path, copies: int, limit: int) -> list[tuple[str, object]]:
    """(name, 16 kHz mono samples) of every music row, ``copies`` times over."""
    with open(manifest, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if len(row.get("domain", "")) == 3 and row["domain"][1] == "M"]
    if limit:
        rows = rows[:limit]
    clips = []
    for row in rows:
        start = float(row["start"]) if row.get("start") else 0.0
        duration = float(row["end"]) - start if row.get("end") else None
        audio, _ = librosa.load(manifest.parent / row["audio"], sr=RATE, mono=True, offset=start, duration=duration)
        clips.append((row["audio"], audio))
    return clips * copies


def tag_scores(clips) -> list[dict[str, float]]:
    from acav_assets.experts.tagging.audioset_ontology import load_ontology
    from acav_assets.experts.tagging.windows import tag_clips
    from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger

    tagger = YamnetTagger()
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in tagger.label_mids]
    return [dict(zip(names, map(float, tags.clip_scores))) for tags in tag_clips(tagger, [a for _, a in clips])]


def time_old_parts(times: PartTimes) -> None:
    """Route the old module's helpers through ``times``."""
    for attribute, part in OLD_PARTS.items():
        function = getattr(old_music, attribute)

        def timed(*args, _function=function, _part=part, **kwargs):
            with times(_part):
                return _function(*args, **kwargs)

        setattr(old_music, attribute, timed)


def sung_words_callables(enabled: bool):
    if not enabled:
        return None, None
    from acav_assets.experts.speech.analysis import analyse_speech
    from acav_assets.experts.speech.asr import WhisperRecognizer
    from acav_assets.experts.speech.gender import GenderEstimator
    from acav_assets.experts.speech.vad import SileroVad

    vad, asr = SileroVad(), WhisperRecognizer.packaged_base()
    return (functools.partial(analyse_speech, vad=vad, asr=asr, gender=GenderEstimator()),
            functools.partial(new_music.transcribe_vocals, vad=vad, asr=asr))


def rate(audio_s: float, seconds: float) -> str:
    return f"{audio_s / seconds:8.1f}" if seconds > 0 else "       -"


def print_parts(title: str, times: PartTimes, total: PartTimes, order, audio_s: float) -> None:
    print(f"\n{title}")
    print(f"  {'part':<20} {'wall s':>8} {'CPU s':>8} {'audio-s/s wall':>15} {'audio-s/s CPU':>14}")
    parts = [p for p in order if p in times.wall] + [p for p in times.wall if p not in order]
    for part in parts + ["other"]:
        if part == "other":  # validation, labels, row building
            wall = total.wall["total"] - sum(times.wall.values())
            cpu = total.cpu["total"] - sum(times.cpu.values())
        else:
            wall, cpu = times.wall[part], times.cpu[part]
        print(f"  {part:<20} {wall:8.2f} {cpu:8.2f} {rate(audio_s, wall):>15} {rate(audio_s, cpu):>14}")
    wall, cpu = total.wall["total"], total.cpu["total"]
    print(f"  {'TOTAL':<20} {wall:8.2f} {cpu:8.2f} {rate(audio_s, wall):>15} {rate(audio_s, cpu):>14}")


def differing_fields(old: dict, new: dict) -> set[str]:
    differ = set()
    for name, value in new.items():
        before = old.get(name)
        if isinstance(value, float) and isinstance(before, float):
            if abs(value - before) > 1e-4 * max(1.0, abs(before)):
                differ.add(name)
        elif name in old and value != before:
            differ.add(name)
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=DEMO_MANIFEST)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="at most this many music rows (0: all)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sung-words", action="store_true")
    args = parser.parse_args()

    clips = music_clips(args.manifest, args.copies, args.limit)
    if not clips:
        sys.exit(f"no music rows (domain ?M?) in {args.manifest}")
    scores = tag_scores(clips)
    audio_s = sum(audio.size for _, audio in clips) / RATE
    old_vocals, new_vocals = sung_words_callables(args.sung_words)
    singing = sum(new_music.analyse_music(audio, RATE, tags)["has_vocals"] for (_, audio), tags in zip(clips, scores))
    print(f"{len(clips)} music clips, {audio_s:.0f} s of audio from {args.manifest.name} (x{args.copies}); "
          f"{singing} with has_vocals; sung words {'on' if args.sung_words else 'off'}")

    # First calls load numba caches (or compile) and build filter banks: timed apart.
    first = PartTimes()
    with first("old"):
        old_music.analyse_music(clips[0][1], RATE, scores[0])
    with first("new"):
        new_music.analyse_music(clips[0][1], RATE, scores[0])
    print(f"first call (compile / cache load): old {first.wall['old']:.2f} s, new {first.wall['new']:.2f} s wall")

    old_parts, new_parts, old_total, new_total = PartTimes(), PartTimes(), PartTimes(), PartTimes()
    time_old_parts(old_parts)
    differences: dict[str, int] = {}
    for (_, audio), tags in zip(clips, scores):
        with old_total("total"):
            before = old_music.analyse_music_and_vocals(audio, RATE, tags, analyse_vocals=old_vocals)
        with new_total("total"):
            after = new_music.analyse_music_and_vocals(audio, RATE, tags, analyse_vocals=new_vocals, times=new_parts)
        for name in differing_fields(before, after):
            differences[name] = differences.get(name, 0) + 1

    print_parts("before (benchmarks/music_baseline.py)", old_parts, old_total, list(OLD_PARTS.values()), audio_s)
    print_parts("after (acav_assets.experts.music)", new_parts, new_total, NEW_ORDER, audio_s)
    speedup_wall = old_total.wall["total"] / new_total.wall["total"]
    speedup_cpu = old_total.cpu["total"] / new_total.cpu["total"]
    print(f"\nspeed-up: {speedup_wall:.1f}x wall, {speedup_cpu:.1f}x CPU")
    print("clips whose value differs (after vs before): "
          + (", ".join(f"{name} {count}" for name, count in sorted(differences.items())) or "none"))

    if args.workers > 1:
        for name, analyse in (("before", functools.partial(old_music.analyse_music_and_vocals, analyse_vocals=old_vocals)),
                              ("after", functools.partial(new_music.analyse_music_and_vocals, analyse_vocals=new_vocals))):
            started, cpu = time.perf_counter(), time.process_time()
            list(bounded_map(lambda item, f=analyse: f(item[0][1], RATE, item[1]), list(zip(clips, scores)),
                             args.workers))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"{name}, {args.workers} threads: {audio_s / wall:.1f} audio-s/s wall ({cpu:.1f} s CPU)")


if __name__ == "__main__":
    main()
