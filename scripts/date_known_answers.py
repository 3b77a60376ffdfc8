"""DATE's three known-answer cases on the MECAT train references, per group.

    .venv/bin/python scripts/date_known_answers.py [--references DIR] [--per-domain 300] [--model packaged]

Cases: every clip predicted by its own first reference variant ("copy"); the same captions
rotated by one clip so each clip gets another clip's caption ("shuffled"); and one generic
caption for every clip ("generic"). Copy must beat the other two in every group; it stays well
below 100 because similarity is the mean over three references, two of them paraphrases.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from acav_assets.evaluation.date_metric import (
    DEFAULT_MODEL_ID,
    TextEncoder,
    packaged_encoder,
)
from acav_assets.evaluation.mecat_scoring import load_references, score_group_details
from acav_assets.stats.caption_corpora import ACAV_FACETS

MECAT = Path(__file__).resolve().parents[1] / "acav_assets_tests" / "data" / "mecat_sample" / "caption" / "train"
GENERIC = "Audio recording with some sounds in it."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", default=str(MECAT))
    parser.add_argument("--per-domain", type=int, default=300, help="first N clips of each domain (0 = all)")
    parser.add_argument("--model", default="packaged", help="'packaged' (all-MiniLM-L6-v2) or a sentence-transformers id")
    args = parser.parse_args()
    references = load_references(args.references)
    if args.per_domain:
        by_domain: dict[str, list[str]] = defaultdict(list)
        for key in sorted(references):
            by_domain[references[key]["domain"]].append(key)
        references = {k: references[k] for keys in by_domain.values() for k in keys[: args.per_domain]}
    keys = sorted(references)
    copy = {facet: {k: references[k][facet][0] for k in keys} for facet in ACAV_FACETS}
    shuffled = {facet: {k: copy[facet][other] for k, other in zip(keys, keys[1:] + keys[:1])} for facet in ACAV_FACETS}
    generic = {facet: {k: GENERIC for k in keys} for facet in ACAV_FACETS}
    encoder = packaged_encoder() if args.model == "packaged" else TextEncoder(args.model or DEFAULT_MODEL_ID)
    results = {}
    for name, predictions in (("copy", copy), ("shuffled", shuffled), ("generic", generic)):
        started = time.perf_counter()
        results[name] = {row["group"]: row for row in score_group_details(references, predictions, encoder)}
        print(f"# {name}: {time.perf_counter() - started:.0f} s")
    print(f"\n{len(keys)} clips, encoder {args.model}; similarity / discrimination / DATE, ×100\n")
    print("| group | clips | copy | shuffled | generic |\n|---|---:|---|---|---|")
    for group, row in results["copy"].items():
        cells = [" / ".join(f"{results[c][group][m]:.1f}" for m in ("similarity", "discrimination", "date"))
                 for c in ("copy", "shuffled", "generic")]
        print(f"| {group} | {row['n']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
