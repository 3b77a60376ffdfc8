"""Score caption predictions against MECAT-Caption references: the nine DATE groups and the
final caption score (Table 2 of the paper).

References are MECAT JSON lines (``{KEY: {facets..., "domain": "00A"}}``, one file per domain or
any split). Predictions are CSV rows ``"key","text"``: one file (the same caption for every
facet) or six files in the order long, short, speech, music, sound, environment.

Two input modes (:data:`INPUT_MODES`); the default is ``mecat``, so that numbers compare with the
official evaluator's and the published tables:

* ``mecat`` reads and selects clips as the official ``mecat`` package does: the CSV goes through
  ``pandas.read_csv(header=None, quoting=QUOTE_ALL)`` and every value through ``str()``, so a
  caption written ``None``, ``NA``, ``null``, ``nan`` or empty becomes the text ``"nan"`` (and a file
  whose captions are all number-like is read as numbers: ``"1.50"`` -> ``"1.5"``); a header line is
  read as a clip named ``key``; a reference clip without a prediction is left out of its group.
* ``verbatim`` reads the text as written (``csv`` module; an optional ``key,text`` header is
  skipped) and scores a reference clip without a prediction with an empty caption, so leaving
  clips out lowers the score instead of skipping them.

Either way the final score counts a group without clips as 0, as the official evaluator does, and
:func:`absent_groups` names such groups so that output can flag the score.
"""

from __future__ import annotations

import csv
import os
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


INPUT_MODES = ("mecat", "verbatim")
DEFAULT_INPUT_MODE = "mecat"


def _check_mode(input_mode: str) -> None:
    if input_mode not in INPUT_MODES:
        raise ValueError(f"input mode {input_mode!r}: use one of {', '.join(INPUT_MODES)}")


def read_prediction_csv(path: str | Path, input_mode: str = DEFAULT_INPUT_MODE) -> dict[str, str]:
    """key -> text of one predictions CSV, read as ``input_mode`` says (module docstring)."""
    _check_mode(input_mode)
    if input_mode == "mecat":
        import pandas as pd

        # The official loader's call and conversion; pandas' missing-value spellings become "nan".
        frame = pd.read_csv(path, header=None, quoting=csv.QUOTE_ALL)
        if frame.shape[1] != 2:
            raise ValueError(f"{path}: expected two fields per row, key and text (found {frame.shape[1]})")
        return {str(row[0]): str(row[1]) for row in frame.values}
    rows = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            if not row or (line_number == 1 and row[:2] == ["key", "text"]):
                continue
            if len(row) != 2:
                raise ValueError(f"{path}: line {line_number}: expected two fields, key and text")
            rows[row[0]] = row[1]
    return rows


def load_predictions(paths: Sequence[str | Path], input_mode: str = DEFAULT_INPUT_MODE) -> dict[str, dict[str, str]]:
    """facet -> key -> text, from one CSV (all facets) or six (long, short, speech, music, sound, environment)."""
    if len(paths) not in (1, len(ACAV_FACETS)):
        raise ValueError(f"give one predictions CSV or {len(ACAV_FACETS)} (one per facet), not {len(paths)}")
    by_file = [read_prediction_csv(path, input_mode) for path in paths]
    files = by_file * len(ACAV_FACETS) if len(by_file) == 1 else by_file
    return dict(zip(ACAV_FACETS, files))


def write_prediction_csv(texts: dict[str, str], path: str | Path) -> Path:
    """One predictions CSV in the official format: no header, every field quoted, keys sorted,
    written atomically. (The official loader still reads a caption such as ``None`` as ``"nan"``.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows([key, texts[key]] for key in sorted(texts))
    os.replace(temporary, path)
    return path


def write_prediction_csvs(predictions: dict[str, dict[str, str]], folder: str | Path) -> list[Path]:
    """``{folder}/{facet}.csv`` per facet of ``predictions`` (:func:`write_prediction_csv`)."""
    return [write_prediction_csv(texts, Path(folder) / f"{facet}.csv") for facet, texts in predictions.items()]


def load_prediction_folder(folder: str | Path, input_mode: str = DEFAULT_INPUT_MODE) -> dict[str, dict[str, str]]:
    """Predictions stored for a system: ``predictions.csv`` (every facet) or ``{facet}.csv`` × 6."""
    folder = Path(folder)
    single = folder / "predictions.csv"
    per_facet = [folder / f"{facet}.csv" for facet in ACAV_FACETS]
    if single.is_file():
        return load_predictions([single], input_mode)
    if all(p.is_file() for p in per_facet):
        return load_predictions(per_facet, input_mode)
    found = sorted(p.name for p in folder.glob("*.csv")) if folder.is_dir() else []
    raise FileNotFoundError(f"{folder}: expected predictions.csv or the six files "
                            f"{', '.join(p.name for p in per_facet)}; found {found or 'nothing'}")


def score_group_details(references: dict[str, dict], predictions: dict[str, dict[str, str]], encoder: TextEncoder,
                        fluency: FluencyChecker | None = None, log=None,
                        input_mode: str = DEFAULT_INPUT_MODE) -> list[dict]:
    """One row per evaluation group with clips to score: n (clips scored), reference clips without
    a prediction, mean similarity, discrimination and DATE (×100), and how many predictions were
    penalised. Clips without a prediction are skipped (``mecat``) or scored as ``""`` (``verbatim``)."""
    _check_mode(input_mode)
    penalty_of: dict[str, float] = {}
    if fluency is not None:
        texts = sorted({t for facet in predictions.values() for t in facet.values()} | {""})
        penalty_of = dict(zip(texts, fluency.penalties(texts).tolist()))
    rows = []
    for name, group in GROUPS.items():
        facet_predictions = predictions[group.facet]
        reference_keys = sorted(k for k, ref in references.items() if ref["domain"] in group.domains)
        missing = sum(k not in facet_predictions for k in reference_keys)
        keys = [k for k in reference_keys if k in facet_predictions] if input_mode == "mecat" else reference_keys
        if not keys:
            continue
        preds = [facet_predictions.get(k, "") for k in keys]
        penalty = np.array([penalty_of[p] for p in preds], np.float32) if fluency is not None else None
        result = date_group_score(preds, [references[k][group.facet] for k in keys], group.facet, encoder, penalty)
        rows.append({
            "group": name, "facet": group.facet, "n": len(keys), "missing_predictions": missing,
            "penalised": int((penalty < 1).sum()) if penalty is not None else 0,
            "similarity": 100 * result["similarity_mean"], "discrimination": 100 * result["discrimination_mean"],
            "date": 100 * result["date_mean"],
        })
        if log is not None:
            log.info("DATE %s: %.1f over %d clips", name, rows[-1]["date"], len(keys))
    return rows


def absent_groups(group_scores: dict[str, float | None]) -> list[str]:
    """The evaluation groups without a score (no clips to score), in the table's order."""
    return [name for name in GROUPS if group_scores.get(name) is None]


def final_score(group_scores: dict[str, float | None]) -> float:
    """The final caption score (×100) from the nine group scores (×100). A group without a score
    counts as 0, as in the official evaluator; flag such a score with :func:`absent_groups`."""
    return 100 * caption_score({name: (group_scores.get(name) or 0.0) / 100 for name in GROUPS})


def score_groups(references: dict[str, dict], predictions: dict[str, dict[str, str]],
                 encoder: TextEncoder, fluency: FluencyChecker | None = None,
                 input_mode: str = DEFAULT_INPUT_MODE) -> dict[str, float | None]:
    """DATE per group (None for a group without clips) and the final score (×100, absent groups as 0)."""
    details = score_group_details(references, predictions, encoder, fluency, input_mode=input_mode)
    scores: dict[str, float | None] = {name: None for name in GROUPS}
    scores.update({row["group"]: row["date"] for row in details})
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
