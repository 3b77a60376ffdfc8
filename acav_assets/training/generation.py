"""Text from a trained model: generated answers for examples, and the six facet captions of every
clip of a WebDataset written as ``{facet}.csv`` prediction files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from acav_assets.captions.schema import FACETS
from acav_assets.training.audio_text_model import AudioCaptionModel
from acav_assets.training.config import FACET_PROMPTS
from acav_assets.training.examples import Example, collate


def generate_texts(model: AudioCaptionModel, examples: Sequence[Example], batch_size: int = 16,
                   max_new_tokens: int = 64, max_audio_seconds: float = 30.0) -> dict[str, str]:
    """key -> generated text for each example (batched by length; the target is ignored)."""
    device = next(model.adapter.parameters()).device
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].audio))
    texts: dict[str, str] = {}
    for start in range(0, len(order), batch_size):
        chunk = [examples[i] for i in order[start:start + batch_size]]
        batch = collate(chunk, model.encoder.feature_extractor, model.tokenizer, max_audio_seconds, 1)
        for key, text in zip(batch.keys, model.generate(batch.inputs.to(device), batch.prompts, max_new_tokens)):
            texts[key] = text
    return texts


def predict_captions(model: AudioCaptionModel, shards: str | Sequence[str], facets: Sequence[str] = FACETS,
                     batch_size: int = 16, max_new_tokens: int = 64, max_audio_seconds: float = 10.0,
                     limit: int | None = None, chunk_clips: int = 512) -> tuple[dict[str, dict[str, str]], list[str]]:
    """facet -> key -> caption for every decodable clip of ``shards`` (streamed, ``chunk_clips``
    clips in memory at a time), and the keys that could not be decoded."""
    from acav_assets.io.webdataset_audio import iter_audio_samples

    predictions: dict[str, dict[str, str]] = {facet: {} for facet in facets}
    failed: list[str] = []
    chunk: list = []
    seen = 0

    def caption_chunk() -> None:
        for facet in facets:
            examples = [Example(s.key, s.audio, FACET_PROMPTS[facet], "") for s in chunk]
            predictions[facet].update(generate_texts(model, examples, batch_size, max_new_tokens, max_audio_seconds))
        chunk.clear()

    for sample in iter_audio_samples(shards):
        if limit is not None and seen >= limit:
            break
        if sample.audio is None:
            failed.append(sample.key)
            continue
        seen += 1
        chunk.append(sample)
        if len(chunk) >= chunk_clips:
            caption_chunk()
    if chunk:
        caption_chunk()
    return predictions, failed


def write_prediction_csvs(predictions: dict[str, dict[str, str]], folder: str | Path) -> list[Path]:
    """``{folder}/{facet}.csv`` in the official MECAT format (no header, every field quoted)."""
    from acav_assets.evaluation.mecat_scoring import (
        write_prediction_csvs as write_official,
    )

    return write_official(predictions, folder)


def predictions_sample_markdown(predictions: dict[str, dict[str, str]], facets: Sequence[str], clips: int = 3) -> str:
    """The first clips' captions of every facet, for a glance in the UI."""
    from acav_assets.io.markdown import rows_table

    keys = sorted(predictions[facets[0]])[:clips]
    return rows_table(["key", "facet", "caption"],
                      [(key, facet, predictions[facet][key].replace("|", "/")[:200]) for key in keys for facet in facets],
                      cell=str)


def check_prediction_coverage(predictions: dict[str, dict[str, str]], expected: set[str]) -> dict[str, dict]:
    """Per facet, the expected clips without a caption, unexpected keys and empty captions (first ten each)."""
    problems = {}
    for facet, texts in predictions.items():
        missing, extra = expected - set(texts), set(texts) - expected
        empty = [k for k, v in texts.items() if not v.strip()]
        if missing or extra or empty:
            problems[facet] = {"missing": sorted(missing)[:10], "unexpected": sorted(extra)[:10], "empty": empty[:10]}
    return problems
