"""Run the official MECAT evaluator (the ``mecat`` package on PyPI, a test extra) offline, to
check this project's DATE against it: its sentence model is pointed at a local folder and its
fluency checker (a FENSE checkpoint it would download) is replaced by "no penalty".

Importing ``mecat.DATE`` sets torch to one thread for the whole process; :func:`official_scores`
puts the previous setting back when it returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from unittest import mock

from acav_assets.evaluation.date_metric import GROUPS

OFFICIAL_METRIC = "date"


def official_references() -> Path:
    """The MECAT-Caption test references shipped in the ``mecat`` package (eight domains)."""
    import importlib.util

    spec = importlib.util.find_spec("mecat")
    if spec is None or not spec.origin:
        raise ModuleNotFoundError("the official evaluator is not installed: pip install 'mecat==1.1.0'")
    return Path(spec.origin).parent / "reference" / "caption" / "test"


class _NoPenalty:
    """Stands in for mecat's RefinedErrorChecker: every caption gets the multiplier 1."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __call__(self, sentences, batch_size: int = 32):
        import torch

        return torch.ones(1 if isinstance(sentences, str) else len(sentences))


def _no_bar(iterable=None, *args, **kwargs):
    return iterable


@contextlib.contextmanager
def offline_official(model_dir: str | os.PathLike) -> Iterator[object]:
    """``mecat.evaluate`` with its sentence model loaded from ``model_dir`` and no fluency penalty;
    its progress bars and log lines are silenced."""
    import torch

    threads = torch.get_num_threads()  # importing mecat.DATE sets it to 1
    import mecat.DATE as official_date
    import mecat.evaluate as official_evaluate
    from loguru import logger
    from sentence_transformers import SentenceTransformer

    def local_model(_name: str, device: str | None = None, **kwargs):
        return SentenceTransformer(str(model_dir), device=device or "cpu", **kwargs)

    logger.disable("mecat")
    try:
        with mock.patch.object(official_date, "SentenceTransformer", local_model), \
                mock.patch.object(official_date, "RefinedErrorChecker", _NoPenalty), \
                mock.patch.object(official_date, "tqdm", _no_bar), mock.patch.object(official_date, "trange", range):
            yield official_evaluate
    finally:
        logger.enable("mecat")
        torch.set_num_threads(threads)


def official_scores(predictions: str | Path | Sequence[str | Path], reference_dir: str | Path,
                    model_dir: str | os.PathLike, device: str = "cpu") -> dict[str, float]:
    """Group DATE scores and the final score (×100) from the official ``evaluate`` on prediction
    CSVs (one file for every facet, or six), read by its own loader. A group without clips scores
    0 there; the final score is its ``score_caption`` row."""
    paths = [str(predictions)] if isinstance(predictions, (str, Path)) else [str(p) for p in predictions]
    with offline_official(model_dir) as official_evaluate, open(os.devnull, "w") as quiet, \
            contextlib.redirect_stdout(quiet):
        frame = official_evaluate.evaluate(paths[0] if len(paths) == 1 else paths, metrics=[OFFICIAL_METRIC],
                                           task="caption", reference_dir=str(reference_dir), device=device)
    by_group = {row["subtask"]: 100 * float(row[OFFICIAL_METRIC]) for row in frame.to_dict("records")}
    scores = {name: by_group[name] for name in GROUPS}
    scores["score"] = by_group["score_caption"]
    return scores
