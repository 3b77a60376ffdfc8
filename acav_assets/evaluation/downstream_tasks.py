"""Downstream evaluation (Table 3): tasks declared in ``data/downstream_tasks.json``, their
manifests, the adapter-only probe on a caption checkpoint, WER/CER/accuracy, and the table.

The real datasets are not shipped: each task names the layout it reads (``format``) and where
(``train``/``test``, with ``${ACAV_DOWNSTREAM_ROOT}``), so a machine that has them only sets paths.
"""

from __future__ import annotations

import csv
import json
import os
import re
import string
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from acav_assets.io.audio_decoding import decode_clip

METRICS = ("wer", "cer", "accuracy")
LOWER_IS_BETTER = {"wer", "cer"}
DOWNSTREAM_ROOT_ENV = "ACAV_DOWNSTREAM_ROOT"


@dataclass(frozen=True)
class DownstreamTask:
    name: str
    column: str  # Table 3 column
    metric: str
    format: str
    prompt: str
    train: str
    test: str

    def path(self, split: str) -> str:
        """The split's manifest path with ``${ACAV_DOWNSTREAM_ROOT}`` (default ./downstream) expanded."""
        raw = self.train if split == "train" else self.test
        root = os.environ.get(DOWNSTREAM_ROOT_ENV) or "downstream"
        return os.path.expandvars(raw.replace("${" + DOWNSTREAM_ROOT_ENV + "}", root))


def _declarations(path: str | Path | None = None) -> dict:
    if path is None:
        return json.loads(resources.files("acav_assets").joinpath("data", "downstream_tasks.json").read_text("utf-8"))
    return json.loads(Path(path).read_text("utf-8"))


def load_tasks(path: str | Path | None = None) -> dict[str, DownstreamTask]:
    """name -> task, in Table 3's column order."""
    tasks = {}
    for entry in _declarations(path)["tasks"]:
        task = DownstreamTask(**entry)
        if task.metric not in METRICS:
            raise ValueError(f"task {task.name}: metric must be one of {METRICS}, not {task.metric!r}")
        if task.format not in MANIFEST_READERS:
            raise ValueError(f"task {task.name}: format must be one of {sorted(MANIFEST_READERS)}, not {task.format!r}")
        tasks[task.name] = task
    return tasks


def paper_rows(path: str | Path | None = None) -> dict[str, list[float]]:
    """Table 3 of the paper: caption dataset -> one value per task, in task order."""
    return _declarations(path)["paper_rows"]


# --- manifests: (audio path, answer) pairs ------------------------------------------------------

def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: {what} (set {DOWNSTREAM_ROOT_ENV} or the task's paths)")
    return path


def read_jsonl(path: str) -> list[tuple[str, str]]:
    file = _need(Path(path), "a JSON-lines manifest of {\"audio\", \"text\"}")
    items = []
    for number, line in enumerate(file.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if "audio" not in row or "text" not in row:
                raise ValueError(f"{file}:{number}: a line needs 'audio' and 'text'")
            items.append((str(file.parent / row["audio"]), str(row["text"])))
    return items


def read_kaldi(path: str) -> list[tuple[str, str]]:
    """AISHELL-2 style: ``wav.scp`` (utt path) and ``text`` or ``trans.txt`` (utt transcript)."""
    folder = _need(Path(path), "a folder with wav.scp and text (Kaldi layout)")
    scp = _need(folder / "wav.scp", "the utterance list")
    text_file = folder / "text" if (folder / "text").exists() else _need(folder / "trans.txt", "the transcripts")
    audio = dict(line.split(maxsplit=1) for line in scp.read_text("utf-8").splitlines() if line.strip())
    texts = dict(line.split(maxsplit=1) for line in text_file.read_text("utf-8").splitlines() if len(line.split()) > 1)
    return [(str(folder / audio[u].strip()), texts[u].strip()) for u in sorted(audio) if u in texts]


def read_librispeech(path: str) -> list[tuple[str, str]]:
    folder = _need(Path(path), "a LibriSpeech split folder (speaker/chapter/*.trans.txt)")
    items = []
    for transcript in sorted(folder.rglob("*.trans.txt")):
        for line in transcript.read_text("utf-8").splitlines():
            utt, _, text = line.partition(" ")
            items.append((str(transcript.parent / f"{utt}.flac"), text))
    return items


def read_common_voice(path: str) -> list[tuple[str, str]]:
    file = _need(Path(path), "a Common Voice tsv (path, sentence), clips/ beside it")
    with open(file, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(str(file.parent / "clips" / r["path"]), r["sentence"]) for r in rows]


def read_nsynth(path: str) -> list[tuple[str, str]]:
    folder = _need(Path(path), "an NSynth split folder with examples.json and audio/")
    examples = json.loads(_need(folder / "examples.json", "NSynth's note list").read_text("utf-8"))
    return [(str(folder / "audio" / f"{note}.wav"), info["instrument_family_str"]) for note, info in sorted(examples.items())]


def read_label_csv(path: str) -> list[tuple[str, str]]:
    file = _need(Path(path), "a CSV with audio and label columns")
    with open(file, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"audio", "label"} <= set(rows[0]):
        raise ValueError(f"{file}: needs the columns audio and label, has {list(rows[0])}")
    return [(str(file.parent / r["audio"]), r["label"]) for r in rows]


MANIFEST_READERS: dict[str, Callable[[str], list[tuple[str, str]]]] = {
    "jsonl": read_jsonl, "kaldi": read_kaldi, "librispeech": read_librispeech,
    "common_voice": read_common_voice, "nsynth": read_nsynth, "csv": read_label_csv,
}


def task_items(task: DownstreamTask, split: str, limit: int | None = None) -> list[tuple[str, str]]:
    items = MANIFEST_READERS[task.format](task.path(split))
    if not items:
        raise ValueError(f"task {task.name}: the {split} manifest {task.path(split)} lists no clips")
    return items[:limit] if limit else items


def task_examples(task: DownstreamTask, split: str, limit: int | None = None, max_seconds: float = 30.0) -> list:
    """Decoded examples (16 kHz mono, at most ``max_seconds``) for one split."""
    from acav_assets.training.examples import Example

    return [Example(audio, decode_clip(audio, 0.0, max_seconds).audio, task.prompt, text)
            for audio, text in task_items(task, split, limit)]


# --- metrics ------------------------------------------------------------------------------------

_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}，。！？、；：“”‘’（）《》]")


def normalise(text: str) -> str:
    """Lower case, NFKC, punctuation removed, spaces collapsed."""
    text = _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(text.split())


def score(metric: str, references: Sequence[str], predictions: Sequence[str]) -> float:
    """WER or CER (×100, lower is better) or accuracy (×100) after :func:`normalise`; CER ignores spaces."""
    import jiwer

    if len(references) != len(predictions) or not references:
        raise ValueError(f"need as many predictions as references (got {len(predictions)} and {len(references)})")
    refs, hyps = [normalise(r) for r in references], [normalise(p) for p in predictions]
    if metric == "accuracy":
        return 100.0 * sum(r == h for r, h in zip(refs, hyps)) / len(refs)
    if metric == "cer":
        return 100.0 * jiwer.cer([r.replace(" ", "") for r in refs], [h.replace(" ", "") for h in hyps])
    if metric == "wer":
        return 100.0 * jiwer.wer(refs, hyps)
    raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")


# --- probe --------------------------------------------------------------------------------------

def run_probe(checkpoint: str | Path, task: DownstreamTask, out_dir: str | Path, train_examples: Sequence,
              test_examples: Sequence, max_steps: int = 2000, progress: Callable[[str], None] = print,
              **overrides) -> dict:
    """Train only the adapter on ``checkpoint``'s frozen encoder and decoder, then score the test split."""
    import random

    from acav_assets.training.config import TrainingConfig
    from acav_assets.training.generation import generate_texts
    from acav_assets.training.loop import train
    from acav_assets.training.model_assembly import load_trained_model

    base = TrainingConfig.from_json(Path(checkpoint) / "run_config.json")
    config = base.with_changes(regime="probe", init_from=str(checkpoint), train_data="", max_steps=max_steps,
                               warmup_steps=min(base.warmup_steps, max(1, max_steps // 10)),
                               save_every=max_steps, **overrides)
    examples = list(train_examples)

    def source(seed: int, part: int, parts: int):
        order = examples[:]
        random.Random(seed).shuffle(order)
        return order[part::parts]

    result = train(config, out_dir, source, progress)
    model = load_trained_model(result.checkpoint)
    texts = generate_texts(model, test_examples, batch_size=config.batch_size,
                           max_new_tokens=config.max_target_tokens, max_audio_seconds=config.max_audio_seconds)
    predictions = [texts[e.key] for e in test_examples]
    value = score(task.metric, [e.target for e in test_examples], predictions)
    return {"task": task.name, "metric": task.metric, "value": value, "test_clips": len(test_examples),
            "train_clips": len(examples), "steps": result.steps, "checkpoint": str(result.checkpoint),
            "final_loss": result.curve[-1]["loss"] if result.curve else None,
            "examples": [{"reference": e.target, "prediction": p} for e, p in zip(test_examples[:10], predictions)]}


# --- Table 3 ------------------------------------------------------------------------------------

def table3_markdown(scored: dict[str, dict[str, float]], tasks: dict[str, DownstreamTask] | None = None,
                    paper: dict[str, list[float]] | None = None) -> str:
    """The paper's rows, then one row per scored run (``run -> task -> value``; a missing task is "–")."""
    tasks = tasks or load_tasks()
    paper = paper if paper is not None else paper_rows()
    header = ["Training data"] + [f"{t.column} ({t.metric.upper() if t.metric != 'accuracy' else 'acc'} "
                                  f"{'↓' if t.metric in LOWER_IS_BETTER else '↑'})" for t in tasks.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, values in paper.items():
        lines.append(f"| {name} (paper) | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    for run, values in sorted(scored.items()):
        cells = [f"{values[t]:.1f}" if t in values else "–" for t in tasks]
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def collected_scores(folder: Path) -> dict[str, dict[str, float]]:
    """Every probe's score under ``folder`` (``{run}/{task}.json``), as run -> task -> value."""
    scored: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("*/*.json")) if folder.is_dir() else []:
        entry = json.loads(path.read_text())
        scored.setdefault(entry["run"], {})[entry["task"]] = entry["value"]
    return scored


def examples_markdown(examples: Sequence[Mapping[str, str]]) -> str:
    """A probe's example predictions beside their references."""
    from acav_assets.io.markdown import rows_table

    return rows_table(["reference", "prediction"],
                      [(e["reference"].replace("|", "/"), e["prediction"].replace("|", "/")) for e in examples], cell=str)
