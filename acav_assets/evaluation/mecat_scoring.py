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

import numpy as np
import pyarrow as pa

from acav_assets.contracts.domains import DOMAINS
from acav_assets.evaluation.date_metric import (
    GROUPS,
    TextEncoder,
    caption_score,
    date_group_score,
)
from acav_assets.evaluation.fluency_checker import FluencyChecker
from acav_assets.stats.caption_corpora import ACAV_FACETS, _acav_files, read_acav_jsonl


def load_references(folder: str | Path) -> dict[str, dict]:
    """key -> {"domain": ..., facet: [3 strings]} from MECAT JSON lines, or from an ACAVCaps-style
    release (``{domain}.jsonl[.gz]`` per domain, lines without a "domain" field)."""
    references: dict[str, dict] = {}
    for path in _acav_files(folder):
        if path.name.startswith("qa.jsonl"):  # a release's QA lines sit beside its caption files
            continue
        file_domain = path.name.split(".")[0]
        for row in read_acav_jsonl(path, "references").to_pylist():
            domain = row["domain"] or (file_domain if file_domain in DOMAINS else None)
            entry = references.setdefault(row["key"], {"domain": domain})
            entry.setdefault(row["facet"], []).append(row["text"])
    missing = [k for k, v in references.items() if not v["domain"]]
    if missing:
        raise ValueError(f"reference lines without a 'domain' field (and not in a {{domain}}.jsonl file), "
                         f"e.g. {missing[:3]}")
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


def load_prediction_folder(folder: str | Path) -> dict[str, dict[str, str]]:
    """Predictions stored for a system: ``predictions.csv`` (every facet) or ``{facet}.csv`` × 6."""
    folder = Path(folder)
    single = folder / "predictions.csv"
    per_facet = [folder / f"{facet}.csv" for facet in ACAV_FACETS]
    if single.is_file():
        return load_predictions([single])
    if all(p.is_file() for p in per_facet):
        return load_predictions(per_facet)
    found = sorted(p.name for p in folder.glob("*.csv")) if folder.is_dir() else []
    raise FileNotFoundError(f"{folder}: expected predictions.csv or the six files "
                            f"{', '.join(p.name for p in per_facet)}; found {found or 'nothing'}")


def score_group_details(references: dict[str, dict], predictions: dict[str, dict[str, str]], encoder: TextEncoder,
                        fluency: FluencyChecker | None = None, log=None) -> list[dict]:
    """One row per evaluation group with reference clips: n, missing predictions, mean
    similarity, discrimination and DATE (×100), and how many predictions were penalised."""
    penalty_of: dict[str, float] = {}
    if fluency is not None:
        texts = sorted({t for facet in predictions.values() for t in facet.values()})
        penalty_of = dict(zip(texts, fluency.penalties(texts).tolist()))
    rows = []
    for name, group in GROUPS.items():
        keys = sorted(k for k, ref in references.items() if ref["domain"] in group.domains)
        if not keys:
            continue
        preds = [predictions[group.facet].get(k, "") for k in keys]
        penalty = np.array([penalty_of.get(p, 1.0) for p in preds], np.float32) if fluency is not None else None
        result = date_group_score(preds, [references[k][group.facet] for k in keys], group.facet, encoder, penalty)
        rows.append({
            "group": name, "facet": group.facet, "n": len(keys),
            "missing_predictions": sum(k not in predictions[group.facet] for k in keys),
            "penalised": int((penalty < 1).sum()) if penalty is not None else 0,
            "similarity": 100 * result["similarity_mean"], "discrimination": 100 * result["discrimination_mean"],
            "date": 100 * result["date_mean"],
        })
        if log is not None:
            log.info("DATE %s: %.1f over %d clips", name, rows[-1]["date"], len(keys))
    return rows


def final_score(group_scores: dict[str, float | None]) -> float | None:
    """The final caption score (×100) from the nine group scores (×100); None if any is missing."""
    if any(group_scores.get(name) is None for name in GROUPS):
        return None
    return 100 * caption_score({name: group_scores[name] / 100 for name in GROUPS})


def score_groups(references: dict[str, dict], predictions: dict[str, dict[str, str]],
                 encoder: TextEncoder, fluency: FluencyChecker | None = None) -> dict[str, float | None]:
    """DATE per group (None for a group without reference clips) and the final score (×100)."""
    details = {row["group"]: row["date"] for row in score_group_details(references, predictions, encoder, fluency)}
    scores: dict[str, float | None] = {name: details.get(name) for name in GROUPS}
    scores["score"] = final_score(scores)
    return scores


# One row per (system, MECAT-Caption group); group "score" is the final caption score (×100).
MECAT_SCORES_SCHEMA = pa.schema([
    pa.field("system", pa.string(), nullable=False), pa.field("group", pa.string(), nullable=False),
    pa.field("facet", pa.string()), pa.field("n", pa.int64(), metadata={"unit": "clips"}),
    pa.field("missing_predictions", pa.int64(), metadata={"unit": "clips"}),
    pa.field("penalised", pa.int64(), metadata={"description": "predictions the fluency checker penalised"}),
    pa.field("similarity", pa.float64(), metadata={"unit": "×100"}),
    pa.field("discrimination", pa.float64(), metadata={"unit": "×100"}),
    pa.field("date", pa.float64(), metadata={"unit": "×100", "description": "DATE score of the group"}),
    pa.field("encoder", pa.string()), pa.field("fluency_checker", pa.string()), pa.field("references", pa.string()),
])
