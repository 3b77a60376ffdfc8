"""Score caption predictions against MECAT-Caption references: the nine DATE groups and the
final caption score (Table 2 of the paper).

References are MECAT JSON lines (``{KEY: {facets..., "domain": "00A"}}``, one file per domain or
any split). Predictions are CSV rows ``"key","text"``: one file (the same caption for every
facet) or six files in the order long, short, speech, music, sound, environment. A reference
clip without a prediction is scored with an empty prediction (it scores low, it is not skipped).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from acav_assets.caption_corpora import ACAV_FACETS, _acav_files, read_acav_jsonl
from acav_assets.date_metric import GROUPS, TextEncoder, caption_score, date_group_score


def load_references(folder: str | Path) -> dict[str, dict]:
    """key -> {"domain": ..., facet: [3 strings]} from MECAT JSON lines."""
    table = read_acav_jsonl(_acav_files(folder), "references")
    references: dict[str, dict] = {}
    for row in table.to_pylist():
        entry = references.setdefault(row["key"], {"domain": row["domain"]})
        entry.setdefault(row["facet"], []).append(row["text"])
    missing = [k for k, v in references.items() if not v["domain"]]
    if missing:
        raise ValueError(f"reference lines without a 'domain' field, e.g. {missing[:3]}")
    return references


def load_predictions(paths: Sequence[str | Path]) -> dict[str, dict[str, str]]:
    """facet -> key -> text, from one CSV (all facets) or six (long, short, speech, music, sound, environment)."""
    if len(paths) not in (1, len(ACAV_FACETS)):
        raise ValueError(f"give one predictions CSV or {len(ACAV_FACETS)} (one per facet), not {len(paths)}")
    by_file = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = {}
            for line_number, row in enumerate(csv.reader(handle), start=1):
                if not row or (line_number == 1 and row[:2] == ["key", "text"]):
                    continue
                if len(row) != 2:
                    raise ValueError(f"{path}: line {line_number}: expected two fields, key and text")
                rows[row[0]] = row[1]
        by_file.append(rows)
    files = by_file * len(ACAV_FACETS) if len(by_file) == 1 else by_file
    return dict(zip(ACAV_FACETS, files))


def score_groups(references: dict[str, dict], predictions: dict[str, dict[str, str]],
                 encoder: TextEncoder) -> dict[str, float | None]:
    """DATE per group (None for a group without reference clips) and the final score (×100)."""
    scores: dict[str, float | None] = {}
    for name, group in GROUPS.items():
        keys = sorted(k for k, ref in references.items() if ref["domain"] in group.domains)
        if not keys:
            scores[name] = None
            continue
        preds = [predictions[group.facet].get(k, "") for k in keys]
        refs = [references[k][group.facet] for k in keys]
        scores[name] = 100 * float(date_group_score(preds, refs, group.facet, encoder)["date_mean"])
    complete = all(v is not None for v in scores.values())
    scores["score"] = 100 * caption_score({k: v / 100 for k, v in scores.items()}) if complete else None
    return scores
