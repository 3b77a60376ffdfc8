"""Release WebDataset shards -> training examples (one per facet caption) -> length-aware,
collated batches, each (process, worker) reading its own share of the shards."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from acav_assets.training.audio_text_model import (
    SAMPLE_RATE,
    EncoderInputs,
    prepare_features,
)
from acav_assets.training.config import FACET_PROMPTS, TrainingConfig

log = logging.getLogger(__name__)


ABSENT_MARKER = "None"  # first variant of a facet whose content is absent


class Example(NamedTuple):
    """One training or evaluation item: audio (float32 16 kHz mono), an instruction, its answer."""

    key: str
    audio: np.ndarray
    prompt: str
    target: str


class Batch(NamedTuple):
    keys: list[str]
    inputs: EncoderInputs
    prompts: list[list[int]]
    targets: list[list[int]]


def caption_targets(meta: dict, facets: Sequence[str], rng: random.Random) -> list[tuple[str, str]]:
    """(facet, caption) pairs for one release clip: per facet, one of its descriptive variants at
    random (an absent facet's "None" marker is skipped, its wordings of absence are kept)."""
    pairs = []
    for facet in facets:
        variants = [v for v in meta.get(facet) or [] if isinstance(v, str) and v.strip() and v != ABSENT_MARKER]
        if variants:
            pairs.append((facet, rng.choice(variants)))
    return pairs


def caption_examples(shards: str | Sequence[str], facets: Sequence[str], seed: int = 0, part: int = 0,
                     parts: int = 1) -> Iterator[Example]:
    """Facet examples from release WebDataset shards; this reader's share is every ``parts``-th
    shard (or every ``parts``-th clip when there are fewer shards than readers)."""
    from acav_assets.io.webdataset_audio import iter_audio_samples, shard_urls

    urls = shard_urls(shards)
    rng = random.Random(seed)
    rng.shuffle(urls)
    by_shard = len(urls) >= parts
    mine = urls[part::parts] if by_shard else urls
    for index, sample in enumerate(iter_audio_samples(mine)):
        if not by_shard and index % parts != part:
            continue
        if sample.audio is None:
            log.warning("skipping %s: %s", sample.key, sample.error)
            continue
        for facet, caption in caption_targets(sample.meta, facets, rng):
            yield Example(sample.key, sample.audio, FACET_PROMPTS[facet], caption)


def length_aware_batches(examples: Iterable[Example], batch_size: int, buffer_batches: int,
                         rng: random.Random) -> Iterator[list[Example]]:
    """Batches of clips of similar length (little padding): a buffer of ``buffer_batches``
    batches is sorted by audio length, cut into batches, and those are yielded in random order."""
    buffer: list[Example] = []

    def flush() -> Iterator[list[Example]]:
        buffer.sort(key=lambda e: len(e.audio))
        batches = [buffer[i:i + batch_size] for i in range(0, len(buffer), batch_size)]
        rng.shuffle(batches)
        buffer.clear()
        yield from batches

    for example in examples:
        buffer.append(example)
        if len(buffer) >= batch_size * buffer_batches:
            yield from flush()
    yield from flush()


def collate(examples: Sequence[Example], feature_extractor, tokenizer, max_audio_seconds: float,
            max_target_tokens: int) -> Batch:
    """Features (cropped to ``max_audio_seconds``), prompt ids, target ids ending in EOS."""
    limit = int(max_audio_seconds * SAMPLE_RATE)
    inputs = prepare_features(feature_extractor, [e.audio[:limit] for e in examples])
    prompts = [tokenizer(f"{e.prompt}\n", add_special_tokens=False).input_ids for e in examples]
    targets = [tokenizer(e.target, add_special_tokens=False).input_ids[:max_target_tokens] + [tokenizer.eos_token_id]
               for e in examples]
    return Batch([e.key for e in examples], inputs, prompts, targets)


class BatchStream(torch.utils.data.IterableDataset):
    """Collated length-aware batches for one epoch; each (process, worker) reads its own share."""

    def __init__(self, source: Callable[[int, int, int], Iterable[Example]], epoch: int, config: TrainingConfig,
                 feature_extractor, tokenizer, rank: int, world: int) -> None:
        super().__init__()
        self.source, self.epoch, self.config = source, epoch, config
        self.feature_extractor, self.tokenizer, self.rank, self.world = feature_extractor, tokenizer, rank, world

    def __iter__(self) -> Iterator[Batch]:
        info = torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        part, parts = self.rank * workers + worker, self.world * workers
        seed = self.config.seed * 1_000_003 + self.epoch
        examples = self.source(seed, part, parts)
        for batch in length_aware_batches(examples, self.config.batch_size, self.config.sort_buffer_batches,
                                          random.Random(seed + part)):
            yield collate(batch, self.feature_extractor, self.tokenizer, self.config.max_audio_seconds,
                          self.config.max_target_tokens)
