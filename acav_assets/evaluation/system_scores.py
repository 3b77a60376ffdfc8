"""Score one caption system on MECAT-Caption: its rows of the scores table, Table 2's row and the
per-group report, with the text encoder and fluency checker loaded once per process."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from acav_assets.evaluation.mecat_scoring import (
    DEFAULT_INPUT_MODE,
    MECAT_SCORES_SCHEMA,
    absent_groups,
    final_score,
    load_prediction_folder,
    load_references,
    score_group_details,
)
from acav_assets.io.markdown import rows_table

logger = logging.getLogger(__name__)


def references_folder(folder: str) -> str:
    """The configured MECAT-Caption references, or a clear error saying how to set them."""
    if not folder:
        raise ValueError(
            "no MECAT-Caption references configured: set ACAV_MECAT_REFERENCES to a folder of MECAT caption "
            "JSON lines (the hub dataset mispeech/MECAT-Caption; acav_assets_tests/data/mecat_sample/caption/train "
            "for a small real sample)")
    if not Path(folder).is_dir():
        raise ValueError(f"ACAV_MECAT_REFERENCES={folder} is not a folder")
    return folder


def encoder_name(date_model: str, profile: str) -> str:
    """The DATE text encoder: the configured one, else the profile's default."""
    from acav_assets.evaluation.date_metric import DEFAULT_MODEL_ID

    return date_model or ("packaged" if profile == "lite" else DEFAULT_MODEL_ID)


@functools.cache
def text_encoder(name: str):
    from acav_assets.evaluation.date_metric import TextEncoder, packaged_encoder

    return packaged_encoder() if name == "packaged" else TextEncoder(name)


@functools.cache
def fluency_checker(path: str):
    from acav_assets.evaluation.fluency_checker import FluencyChecker

    return FluencyChecker(path)


@dataclass(frozen=True)
class SystemScores:
    table: pa.Table  # MECAT_SCORES_SCHEMA rows: one per group and the final score
    details: list[dict]  # per-group details
    score: float  # the final caption score, a group without clips counted as 0 (official)
    reference_clips: int
    extra_keys: list[str]  # predicted keys not in the references (ignored)
    absent: list[str]  # groups without clips: the score counts them as 0

    @property
    def table2_row(self) -> dict:
        return {**{row["group"]: row["date"] for row in self.details}, "score": self.score}

    def groups_markdown(self) -> str:
        return rows_table(
            ["group", "clips", "missing", "similarity", "discrimination", "DATE"],
            [(r["group"], r["n"], r["missing_predictions"], f"{r['similarity']:.1f}", f"{r['discrimination']:.1f}",
              f"{r['date']:.1f}") for r in self.details],
            cell=str, align=["---"] + ["---:"] * 5)


def score_system(system: str, predictions_folder: str, references_dir: str, encoder: str, fluency_path: str = "",
                 log: logging.Logger = logger, input_mode: str = DEFAULT_INPUT_MODE) -> SystemScores:
    """DATE scores of the predictions in ``predictions_folder`` against the references
    (``input_mode``: see :mod:`acav_assets.evaluation.mecat_scoring`)."""
    predictions = load_prediction_folder(predictions_folder, input_mode)
    references = load_references(references_dir)
    log.info("scoring %s on %d reference clips with %s", system, len(references), encoder)
    fluency = fluency_checker(fluency_path) if fluency_path else None
    details = score_group_details(references, predictions, text_encoder(encoder), fluency, log=log,
                                  input_mode=input_mode)
    group_scores = {row["group"]: row["date"] for row in details}
    score, absent = final_score(group_scores), absent_groups(group_scores)
    if absent:
        log.warning("no clips for %s: the final score counts them as 0", ", ".join(absent))
    common = {"system": system, "encoder": encoder, "fluency_checker": fluency_path or None,
              "references": references_dir}
    rows = [{**row, **common} for row in details]
    rows.append({"group": "score", "facet": None, "n": len(references), "missing_predictions": None, "penalised": None,
                 "similarity": None, "discrimination": None, "date": score, **common})
    extra = sorted(set().union(*predictions.values()) - set(references))
    if extra:
        log.warning("%d predicted keys are not in the references (ignored), e.g. %s", len(extra), extra[:3])
    return SystemScores(pa.Table.from_pylist(rows, schema=MECAT_SCORES_SCHEMA), details, score, len(references), extra,
                        absent)


def coverage_problems(scores: pa.Table) -> tuple[list[str], dict[str, int]]:
    """Groups whose score is outside [0, 100], and per group the reference clips without a prediction."""
    groups = [row for row in scores.to_pylist() if row["group"] != "score"]
    out_of_range = [row["group"] for row in groups if not 0 <= row["date"] <= 100]
    missing = {row["group"]: row["missing_predictions"] for row in groups if row["missing_predictions"]}
    return out_of_range, missing
