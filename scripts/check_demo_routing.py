#!/usr/bin/env python3
"""Check that the demo corpus routes to its recorded domains with the packaged YAMNet tagger.

Every ``manifest.csv`` row is decoded as the pipeline does (a row with ``end`` is one clip;
a row without is cut into consecutive 10 s clips, a remainder under 1 s dropped), tagged on
2 s windows with :class:`acav_assets.experts.tagging.yamnet_tagger.YamnetTagger` and routed with the default
:class:`acav_assets.experts.routing.RoutingThresholds` (silent clips route to ``000``). Prints, per
clip, the recorded and routed domains and the highest window score of each part, then the
agreement. Exits with status 1 when agreement is below 90 %.

Usage::

    python scripts/check_demo_routing.py [--manifest PATH] [--min-agreement 0.9] [--top]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from acav_assets.experts.acoustics import measure_acoustics
from acav_assets.experts.routing import ContentGroups, RoutingThresholds, route_clip
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.experts.tagging.windows import tag_clip
from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger
from acav_assets.ingest.manifests import plan_clips, read_manifest
from acav_assets.io.audio_decoding import decode_clip, probe_duration
from acav_assets.io.audio_shards import encode_flac

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = REPO_ROOT / "acav_assets" / "demo_corpus" / "manifest.csv"


def window_ends(starts: np.ndarray, clip_seconds: float) -> np.ndarray:
    """Each window ends where the next starts; the last ends at the clip's end."""
    return np.append(starts[1:], clip_seconds) if len(starts) else starts


def top_labels(scores: np.ndarray, names: Sequence[str], k: int = 3) -> str:
    """The ``k`` highest clip-level labels, as 'Name 0.97, ...'."""
    order = np.argsort(scores)[::-1][:k]
    return ", ".join(f"{names[i]} {scores[i]:.2f}" for i in order)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--min-agreement", type=float, default=0.9)
    parser.add_argument("--top", action="store_true", help="also print the top-3 labels per clip")
    args = parser.parse_args(argv)

    ontology = load_ontology()
    tagger = YamnetTagger(ontology=ontology)
    groups = ContentGroups.from_labels(tagger.label_mids, ontology)
    thresholds = RoutingThresholds()
    names = [ontology.name(mid) for mid in tagger.label_mids]

    # The clips exactly as the pipeline plans them (rows without an end cut into 10 s clips).
    clips = plan_clips(read_manifest(str(args.manifest)), probe_duration)

    header = f"{'clip':38s} {'true':>4s} {'routed':>6s}  {'speech':>6s} {'music':>6s} {'sound':>6s}  ok"
    print(header)
    print("-" * len(header))
    agree = total = 0
    for clip in clips:
        # Through the same 16-bit FLAC the pipeline stores, so the tagger sees identical samples.
        audio, _ = sf.read(io.BytesIO(encode_flac(decode_clip(clip.source, clip.start, clip.end).audio).flac),
                           dtype="float32")
        tags = tag_clip(tagger, audio)
        silent = bool(measure_acoustics(audio, 16_000)["is_silent"])
        ends = window_ends(tags.window_starts_s, len(audio) / 16_000)
        route = route_clip(tags.window_scores, tags.window_starts_s, ends, groups, thresholds, silent)
        ok = route.domain == clip.row.domain
        agree += ok
        total += 1
        label = f"{clip.source_id} [{clip.start:g}-{clip.start + len(audio) / 16_000:g}]"
        s = route.scores
        print(f"{label:38s} {clip.row.domain:>4s} {route.domain:>6s}  {s['speech']:6.2f} {s['music']:6.2f} "
              f"{s['sound']:6.2f}  {'yes' if ok else 'NO'}" + ("  (silent)" if silent else ""))
        if args.top:
            print(f"    top: {top_labels(tags.clip_scores, names)}")
    rate = agree / total if total else 0.0
    print(f"\nagreement: {agree}/{total} = {rate:.1%} (thresholds: speech {thresholds.speech}, "
          f"music {thresholds.music}, sound {thresholds.sound})")
    return 0 if rate >= args.min_agreement else 1


if __name__ == "__main__":
    sys.exit(main())
