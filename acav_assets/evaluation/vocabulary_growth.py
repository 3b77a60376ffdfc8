"""Vocabulary growth of caption texts: unique words against the number of captions, beside MECAT's.

A fixed template set stops adding words once its templates are used up; captions written for each
clip keep adding words as the corpus grows (issue 15, point 4). This measures the curve for the
captions of a data root and for MECAT's reference captions at the same counts.

Definitions:

* a *caption* is one variant of one facet (``long``, ``short``, ``speech``, ``music``, ``sound``,
  ``environment``, or those named by ``facets``); a content facet's ``"None"`` and its absence
  phrases (an absent part) are left out, in both corpora;
* a *word* is a lower-cased run of letters (apostrophes inside it kept, digits and punctuation
  dropped, no stemming): "Dogs", "dogs" and "dogs," are one word, "dog" another;
* captions are taken clip by clip, the clips in a seeded random order, so ``n`` captions come from
  about ``n / 15`` clips in either corpus.

::

    python -m acav_assets.evaluation.vocabulary_growth [DATA_ROOT] [--mecat FOLDER]
        [--resynthesise] [--facets long short ...] [--counts 250 500 1000 2000]

``DATA_ROOT`` defaults to ``$ACAV_DATA_ROOT``; its ``captions`` rows with status ``ok`` are measured,
or with ``--resynthesise`` the offline synthesiser's captions of its ``evidence`` rows (decoded
clips), so a change to the synthesiser can be measured without materialising again. ``--mecat``
is a folder of MECAT caption JSON lines (default: the sample the tests carry).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from acav_assets.captions.schema import ABSENT, CONTENT_FACETS, FACETS

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
DEFAULT_COUNTS = (250, 500, 1000, 2000, 4000, 8000)
DEFAULT_MECAT = (Path(__file__).resolve().parents[2] / "acav_assets_tests" / "data" / "mecat_sample" / "caption"
                 / "train")


def words(text: str) -> list[str]:
    """Lower-cased words of a text (see the module docstring)."""
    return WORD.findall(text.lower())


def clip_captions(record: Mapping[str, Any], facets: Sequence[str] = FACETS) -> list[str]:
    """One clip's captions: every variant of ``facets``, less absent content facets."""
    domain = str(record.get("domain") or "")
    out = []
    for facet in facets:
        position = CONTENT_FACETS.get(facet)
        if position is not None and len(domain) == 3 and domain[position] == "0":
            continue  # "None" and its absence phrases say nothing about the audio
        out += [t for t in record.get(facet) or [] if isinstance(t, str) and t.strip() and t.strip() != ABSENT]
    return out


def growth_curve(clips: Sequence[Sequence[str]], counts: Iterable[int], seed: int = 0) -> list[tuple[int, int | None]]:
    """(n, unique words in the first n captions) for each count; the clips are shuffled with ``seed``
    and their captions taken in order. None where the corpus has fewer than n captions."""
    order = list(clips)
    random.Random(seed).shuffle(order)
    captions = [text for clip in order for text in clip]
    wanted = sorted(set(counts))
    seen: set[str] = set()
    curve, done = [], 0
    for n in wanted:
        if n > len(captions):
            curve.append((n, None))
            continue
        for text in captions[done:n]:
            seen.update(words(text))
        done = n
        curve.append((n, len(seen)))
    return curve


def mecat_clips(folder: Path, facets: Sequence[str] = FACETS) -> list[list[str]]:
    """Each MECAT clip's captions from a folder of caption JSON lines (``{key: record}`` per line)."""
    out = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            for record in json.loads(line).values() if line.strip() else ():
                out.append(clip_captions(record, facets))
    return out


def data_root_clips(data_root: str, facets: Sequence[str] = FACETS, resynthesise: bool = False) -> list[list[str]]:
    """Each clip's captions from a data root: the ``captions`` table (status ok), or the offline
    synthesiser's captions of the ``evidence`` rows of decoded clips."""
    from acav_assets.io import storage

    if not resynthesise:
        table = storage.read_partitions(data_root, "captions", ["status", "domain", *FACETS])
        rows = [] if table is None else table.to_pylist()
        return [clip_captions(r, facets) for r in rows if r.get("status") == "ok"]
    from acav_assets.captions.offline_synthesiser import synthesize_caption

    table = storage.read_partitions(data_root, "evidence")
    out = []
    for row in [] if table is None else table.to_pylist():
        if row.get("decode_status", "ok") != "ok":
            continue
        record = synthesize_caption(row)
        out.append(clip_captions({"domain": record.domain, **record.facets}, facets))
    return out


def format_table(ours: list[tuple[int, int | None]], mecat: list[tuple[int, int | None]], label: str) -> str:
    """The two curves side by side, with the ratio where both exist."""
    lines = [f"| captions | {label} unique words | MECAT unique words | ratio |", "|---:|---:|---:|---:|"]
    for (n, a), (_, b) in zip(ours, mecat, strict=True):
        ratio = f"{a / b:.2f}" if a is not None and b else "-"
        lines.append(f"| {n:,} | {'-' if a is None else f'{a:,}'} | {'-' if b is None else f'{b:,}'} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root", nargs="?", default=os.environ.get("ACAV_DATA_ROOT", "acav_data"))
    parser.add_argument("--mecat", type=Path, default=DEFAULT_MECAT, help="folder of MECAT caption JSON lines")
    parser.add_argument("--resynthesise", action="store_true",
                        help="measure the offline synthesiser's captions of the evidence rows")
    parser.add_argument("--facets", nargs="+", choices=FACETS, default=list(FACETS))
    parser.add_argument("--counts", nargs="+", type=int, default=list(DEFAULT_COUNTS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ours = data_root_clips(args.data_root, args.facets, args.resynthesise)
    reference = mecat_clips(args.mecat, args.facets)
    if not ours:
        parser.error(f"no captions in {args.data_root}")
    label = "offline synthesiser" if args.resynthesise else "data root"
    print(f"{label}: {len(ours)} clips, {sum(map(len, ours))} captions; MECAT: {len(reference)} clips, "
          f"{sum(map(len, reference))} captions; facets: {', '.join(args.facets)}")
    print(format_table(growth_curve(ours, args.counts, args.seed), growth_curve(reference, args.counts, args.seed),
                       label))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
