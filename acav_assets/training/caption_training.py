"""Training the audio caption model, as in the paper's Section 4.

Two regimes: ``alignment`` (encoder and adapter trained, decoder fine-tuned with LoRA through
``peft``) and ``probe`` (encoder and decoder frozen, only the adapter trained: the downstream
evaluation). AdamW8bit (bitsandbytes), linear warm-up then cosine decay to ``min_lr_ratio``,
gradient accumulation, bf16 autocast on GPU, optional gradient checkpointing. Devices and
multi-GPU come from ``accelerate``: run the same code under ``accelerate launch`` or ``torchrun``.

A run writes ``{out}/checkpoints/step-NNNNNNNN/`` (adapter, LoRA, encoder when trained, run
config, tokenizer, optimizer state, training curve) and resumes from the newest complete one.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from acav_assets.training.audio_text_model import (
    DASHENG_BASE_MODEL_ID,
    QWEN3_MODEL_ID,
    QWEN3_REVISION,
    SAMPLE_RATE,
    AudioCaptionModel,
    AudioEncoder,
    EncoderInputs,
    FrameStackAdapter,
    dasheng_base,
    decoder_embedding_size,
    load_decoder,
    load_tokenizer,
    prepare_features,
    trainable_parameters,
)
from acav_assets.captions.schema import FACETS

log = logging.getLogger(__name__)

REGIMES = ("alignment", "probe")
OPTIMIZERS = ("adamw8bit", "adamw")
FACET_PROMPTS = {
    "long": "Describe this audio in detail.",
    "short": "Describe this audio in one short sentence.",
    "speech": "Describe the speech in this audio.",
    "music": "Describe the music in this audio.",
    "sound": "Describe the sound events in this audio.",
    "environment": "Describe the acoustic environment and recording quality of this audio.",
}
ABSENT_MARKER = "None"  # first variant of a facet whose content is absent
CHECKPOINTS = "checkpoints"
COMPLETE = "COMPLETE"
CURVE_FIELDS = ("step", "loss", "learning_rate", "samples", "seconds")


@dataclass
class TrainingConfig:
    """One training run. Defaults are the paper's; ``encoder="dasheng-base"`` is the hub model."""

    regime: str = "alignment"
    train_data: str = ""  # WebDataset shards: a folder, glob, brace pattern or list (the release's)
    encoder: str = "dasheng-base"  # "dasheng-base", or any transformers audio model (hub id or folder)
    encoder_revision: str = ""
    encoder_frame_rate: float = 0.0  # 0: known per model type, else measured
    trust_remote_code: bool = False
    decoder: str = QWEN3_MODEL_ID
    decoder_revision: str = ""  # "" with the default decoder: the pinned Qwen3-0.6B revision
    tokenizer: str = ""  # "" = the decoder's; "qwen3-packaged" = Qwen3's, offline
    init_from: str = ""  # a checkpoint folder to start from (its encoder, adapter and LoRA)
    stack_frames: int = 5
    adapter_hidden: int = 0  # 0 = the decoder's embedding size
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    optimizer: str = "adamw8bit"
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 1000
    max_steps: int = 10_000
    min_lr_ratio: float = 0.1
    max_grad_norm: float = 1.0
    batch_size: int = 16
    gradient_accumulation: int = 1
    max_audio_seconds: float = 10.0
    max_target_tokens: int = 128
    mixed_precision: str = "auto"  # auto: bf16 on CUDA, none on CPU; or "no", "bf16", "fp16"
    gradient_checkpointing: bool = False
    facets: list[str] = field(default_factory=lambda: list(FACETS))
    seed: int = 0
    log_every: int = 10
    save_every: int = 500
    keep_checkpoints: int = 2
    num_workers: int = 0
    sort_buffer_batches: int = 32  # batches whose clips are sorted by length together

    def __post_init__(self) -> None:
        problems = []
        if self.regime not in REGIMES:
            problems.append(f"regime must be one of {REGIMES}, not {self.regime!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        unknown = [f for f in self.facets if f not in FACET_PROMPTS]
        if unknown:
            problems.append(f"unknown facets {unknown}; use {list(FACET_PROMPTS)}")
        for name in ("max_steps", "batch_size", "gradient_accumulation", "stack_frames", "save_every", "log_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if not 0 <= self.min_lr_ratio <= 1:
            problems.append("min_lr_ratio must be within [0, 1]")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, values: dict) -> TrainingConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}; known: {sorted(names)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> TrainingConfig:
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def with_changes(self, **changes) -> TrainingConfig:
        return dataclasses.replace(self, **changes)


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


@dataclass
class TrainingResult:
    checkpoint: Path
    steps: int
    resumed_from: int
    optimizer: str
    curve: list[dict]
    trainable_parameters: int


# --- data ---------------------------------------------------------------------------------------

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


# --- model --------------------------------------------------------------------------------------

def _encoder(config: TrainingConfig, folder: Path | None) -> AudioEncoder:
    if folder is not None:
        return AudioEncoder.load(folder, trust_remote_code=config.trust_remote_code or config.encoder == "dasheng-base")
    if config.encoder in ("dasheng-base", DASHENG_BASE_MODEL_ID):
        return dasheng_base(config.encoder_revision or None)
    return AudioEncoder.from_pretrained(config.encoder, revision=config.encoder_revision or None,
                                        trust_remote_code=config.trust_remote_code,
                                        frame_rate=config.encoder_frame_rate or None)


def hub_commit(module: torch.nn.Module) -> str | None:
    """The hub commit a model was loaded from (transformers records it on the config); None for
    a local folder."""
    commit = getattr(getattr(module, "config", None), "_commit_hash", None)
    return commit if isinstance(commit, str) and len(commit) == 40 else None


def pin_revisions(config: TrainingConfig, model: AudioCaptionModel) -> TrainingConfig:
    """``config`` with each unpinned hub model's revision set to the commit actually loaded, so
    that resuming, captioning and probing from the saved run config use the same weights even
    after the hub branch moves."""
    changes = {}
    encoder_commit = hub_commit(model.encoder.model)
    if not config.encoder_revision and encoder_commit:
        changes["encoder_revision"] = encoder_commit
    decoder = model.decoder.get_base_model() if hasattr(model.decoder, "get_base_model") else model.decoder
    decoder_commit = hub_commit(decoder)
    if not _decoder_revision(config) and decoder_commit:
        changes["decoder_revision"] = decoder_commit
    return config.with_changes(**changes) if changes else config


def _decoder_revision(config: TrainingConfig) -> str | None:
    if config.decoder_revision:
        return config.decoder_revision
    return QWEN3_REVISION if config.decoder == QWEN3_MODEL_ID else None


def _part(name: str, *folders: Path | None) -> Path | None:
    """The first of ``folders`` that holds ``name``."""
    for folder in folders:
        if folder is not None and (folder / name).exists():
            return folder / name
    return None


def build_model(config: TrainingConfig, checkpoint: Path | None = None) -> AudioCaptionModel:
    """The model for ``config``, its weights from ``checkpoint`` (resume or inference), else from
    ``init_from``, else from the pretrained sources; trainable parts set by the regime."""
    from peft import LoraConfig, PeftModel, get_peft_model

    init = Path(config.init_from) if config.init_from else None
    if init is not None and not (init / COMPLETE).exists():
        raise FileNotFoundError(f"init_from {init} is not a complete checkpoint")
    encoder = _encoder(config, _part("encoder", checkpoint, init))
    tokenizer_folder = _part("tokenizer", checkpoint, init)
    tokenizer = load_tokenizer(str(tokenizer_folder) if tokenizer_folder else (config.tokenizer or config.decoder),
                               None if tokenizer_folder or config.tokenizer else _decoder_revision(config))
    decoder = load_decoder(config.decoder, _decoder_revision(config), trust_remote_code=config.trust_remote_code)
    lora = _part("lora", checkpoint, init)
    alignment = config.regime == "alignment"
    if lora is not None:
        decoder = PeftModel.from_pretrained(decoder, str(lora), is_trainable=alignment)
    elif alignment:
        decoder = get_peft_model(decoder, LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_targets), task_type="CAUSAL_LM"))
    adapter = FrameStackAdapter(encoder.dim, decoder_embedding_size(decoder), config.stack_frames,
                                config.adapter_hidden or None)
    adapter_file = _part("adapter.safetensors", checkpoint, init)
    if adapter_file is not None:
        from safetensors.torch import load_file

        adapter.load_state_dict(load_file(str(adapter_file)))
    encoder.requires_grad_(alignment)
    if not alignment:
        decoder.requires_grad_(False)
    adapter.requires_grad_(True)
    if config.gradient_checkpointing:
        decoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if alignment and getattr(encoder.model, "supports_gradient_checkpointing", False):
            encoder.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return AudioCaptionModel(encoder, adapter, decoder, tokenizer)


def warmup_cosine(warmup_steps: int, max_steps: int, min_ratio: float) -> Callable[[int], float]:
    """Learning-rate factor: linear from 0 over ``warmup_steps``, then cosine down to ``min_ratio``."""
    warmup = min(warmup_steps, max_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, max_steps - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def make_optimizer(parameters: list[torch.nn.Parameter], config: TrainingConfig
                   ) -> tuple[torch.optim.Optimizer, str]:
    """AdamW8bit from bitsandbytes (the paper's); torch AdamW when asked for or when bitsandbytes
    cannot run here, which is logged as an error because memory and results then differ."""
    options = {"lr": config.learning_rate, "weight_decay": config.weight_decay}
    if config.optimizer == "adamw8bit":
        try:
            import bitsandbytes as bnb

            return bnb.optim.AdamW8bit(parameters, **options), "adamw8bit"
        except Exception as error:
            log.error("bitsandbytes AdamW8bit is unavailable (%s): FALLING BACK to torch.optim.AdamW (32-bit "
                      "state, more memory; not the paper's optimizer)", error)
    return torch.optim.AdamW(parameters, **options), "adamw"


# --- checkpoints --------------------------------------------------------------------------------

def checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(out_dir) / CHECKPOINTS
    found = [p for p in folder.glob("step-*") if (p / COMPLETE).exists()] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    found = checkpoints(out_dir)
    return found[-1] if found else None


def read_curve(path: str | Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [{"step": int(r["step"]), "loss": float(r["loss"]), "learning_rate": float(r["learning_rate"]),
                 "samples": int(r["samples"]), "seconds": float(r["seconds"])} for r in csv.DictReader(handle)]


def write_curve(curve: list[dict], path: str | Path) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CURVE_FIELDS)
        writer.writeheader()
        writer.writerows(curve)
    os.replace(temporary, path)


def save_checkpoint(model: AudioCaptionModel, config: TrainingConfig, out_dir: str | Path, step: int,
                    optimizer: torch.optim.Optimizer, scheduler, curve: list[dict], optimizer_name: str) -> Path:
    """Write ``step-NNNNNNNN`` through a temporary folder, then drop all but the newest
    ``keep_checkpoints``. The encoder is saved only when it was trained."""
    from peft import PeftModel
    from safetensors.torch import save_file

    root = Path(out_dir) / CHECKPOINTS
    final = root / f"step-{step:08d}"
    temporary = root / f".tmp-step-{step:08d}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in model.adapter.state_dict().items()},
              str(temporary / "adapter.safetensors"))
    if isinstance(model.decoder, PeftModel):
        model.decoder.save_pretrained(str(temporary / "lora"))
    if any(p.requires_grad for p in model.encoder.parameters()):
        model.encoder.save(temporary / "encoder")
    model.tokenizer.save_pretrained(str(temporary / "tokenizer"))
    (temporary / "run_config.json").write_text(json.dumps(config.to_dict(), indent=2))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
                "optimizer_name": optimizer_name, "python_rng": random.getstate(),
                "torch_rng": torch.get_rng_state()}, temporary / "training_state.pt")
    write_curve(curve, temporary / "curve.csv")
    (temporary / COMPLETE).write_text(str(step))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    for old in checkpoints(out_dir)[:-config.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_trained_model(checkpoint: str | Path, device: str | torch.device | None = None) -> AudioCaptionModel:
    """A checkpoint's model for inference, in eval mode."""
    checkpoint = Path(checkpoint)
    if not (checkpoint / COMPLETE).exists():
        raise FileNotFoundError(f"{checkpoint} is not a complete training checkpoint")
    model = build_model(TrainingConfig.from_json(checkpoint / "run_config.json"), checkpoint)
    model.requires_grad_(False)
    return model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()


# --- training -----------------------------------------------------------------------------------

def _mixed_precision(config: TrainingConfig) -> str:
    if config.mixed_precision != "auto":
        return config.mixed_precision
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def train(config: TrainingConfig, out_dir: str | Path,
          source: Callable[[int, int, int], Iterable[Example]] | None = None,
          progress: Callable[[str], None] = log.info) -> TrainingResult:
    """Train until ``max_steps`` optimizer steps, resuming from the newest checkpoint in
    ``out_dir``. ``source(seed, part, parts)`` yields this reader's examples for one epoch
    (default: the facets of ``config.train_data``'s release shards)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if source is None:
        if not config.train_data:
            raise ValueError("train_data is empty: name the release's WebDataset shards")
        source = lambda seed, part, parts: caption_examples(config.train_data, config.facets, seed, part, parts)
    accelerator = Accelerator(gradient_accumulation_steps=config.gradient_accumulation,
                              mixed_precision=_mixed_precision(config))
    set_seed(config.seed)
    resume = latest_checkpoint(out_dir)
    model = build_model(config, resume)
    pinned = pin_revisions(config, model)
    if pinned != config:
        progress(f"pinned hub revisions for this run: encoder {pinned.encoder_revision or '-'}, "
                 f"decoder {pinned.decoder_revision or '-'}")
        config = pinned
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer, optimizer_name = make_optimizer(parameters, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(config.warmup_steps, config.max_steps, config.min_lr_ratio))
    step, curve = 0, []
    if resume is not None:
        state = torch.load(resume / "training_state.pt", map_location="cpu", weights_only=False)
        if state["optimizer_name"] == optimizer_name:
            optimizer.load_state_dict(state["optimizer"])
        else:
            log.warning("resuming with %s instead of %s: optimizer state starts afresh", optimizer_name,
                        state["optimizer_name"])
        scheduler.load_state_dict(state["scheduler"])
        random.setstate(state["python_rng"])
        torch.set_rng_state(state["torch_rng"])
        step, curve = state["step"], read_curve(resume / "curve.csv")
        progress(f"resuming from {resume} at step {step}")
    resumed_from = step
    trainable = trainable_parameters(model)
    progress(f"{config.regime}: {trainable:,} trainable parameters, optimizer {optimizer_name}, "
             f"{accelerator.num_processes} process(es) on {accelerator.device}, "
             f"mixed precision {accelerator.mixed_precision}")
    prepared, optimizer = accelerator.prepare(model, optimizer)
    started, samples = time.monotonic(), curve[-1]["samples"] if curve else 0
    checkpoint, pending, epoch = resume, [], step  # epoch seeds differ after a resume
    while step < config.max_steps:
        stream = BatchStream(source, epoch, config, model.encoder.feature_extractor, model.tokenizer,
                             accelerator.process_index, accelerator.num_processes)
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=config.num_workers)
        batches = 0
        for batch in loader:
            batches += 1
            prepared.train()
            with accelerator.accumulate(prepared):
                loss = prepared(batch.inputs.to(accelerator.device), batch.prompts, batch.targets)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(parameters, config.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            pending.append(loss.detach())
            samples += len(batch.keys) * accelerator.num_processes
            if not accelerator.sync_gradients:
                continue
            learning_rate = scheduler.get_last_lr()[0]
            scheduler.step()
            step += 1
            mean_loss = accelerator.reduce(torch.stack(pending).mean(), "mean").item()
            pending = []
            if not math.isfinite(mean_loss):
                raise FloatingPointError(f"loss is {mean_loss} at step {step}: lower the learning rate or check the data")
            curve.append({"step": step, "loss": round(mean_loss, 6), "learning_rate": learning_rate,
                          "samples": samples, "seconds": round(time.monotonic() - started, 3)})
            if step % config.log_every == 0 or step == config.max_steps:
                progress(f"step {step}/{config.max_steps} loss {mean_loss:.4f} lr {learning_rate:.2e} "
                         f"{samples / max(1e-9, time.monotonic() - started):.1f} samples/s")
            if step % config.save_every == 0 or step == config.max_steps:
                accelerator.wait_for_everyone()
                if accelerator.is_main_process:
                    checkpoint = save_checkpoint(accelerator.unwrap_model(prepared), config, out_dir, step, optimizer,
                                                 scheduler, curve, optimizer_name)
                    progress(f"saved {checkpoint}")
            if step >= config.max_steps:
                break
        if batches == 0:
            raise ValueError("the training data yielded no examples")
        epoch += 1
    accelerator.wait_for_everyone()
    checkpoint = latest_checkpoint(out_dir)
    return TrainingResult(checkpoint, step, resumed_from, optimizer_name, curve, trainable)


# --- inference ----------------------------------------------------------------------------------

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
    """``{folder}/{facet}.csv`` with header ``key,text``, keys sorted, written atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for facet, texts in predictions.items():
        path = folder / f"{facet}.csv"
        temporary = folder / f".{facet}.csv.tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["key", "text"])
            writer.writerows([key, texts[key]] for key in sorted(texts))
        os.replace(temporary, path)
        paths.append(path)
    return paths


# --- run files ----------------------------------------------------------------------------------

RUN_SECTION_DEFAULTS = {
    "predictions": {"data": "", "limit": None, "batch_size": 16, "max_new_tokens": 64},
    "downstream": {"max_steps": 2000, "train_limit": None, "test_limit": None, "tasks_file": ""},
}


def load_run_file(path: str | Path) -> tuple[TrainingConfig, dict[str, dict]]:
    """A named run: the training config's fields, plus optional ``predictions`` (which WebDataset
    to caption) and ``downstream`` (probe length, clip limits) sections, defaults filled in."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: register the run with `acav-assets add-run NAME --config FILE`")
    values = json.loads(path.read_text("utf-8"))
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a run file is a JSON object")
    sections = {}
    for name, defaults in RUN_SECTION_DEFAULTS.items():
        given = values.pop(name, None) or {}
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ValueError(f"{path}: unknown {name} keys {unknown}; known: {sorted(defaults)}")
        sections[name] = {**defaults, **given}
    try:
        return TrainingConfig.from_dict(values), sections
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _is_main_process() -> bool:
    return os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) == "0"


def main(argv: Sequence[str] | None = None) -> None:
    """``accelerate launch -m acav_assets.training.caption_training RUN_FILE OUT_DIR`` (or ``torchrun -m``).

    Launched by Dagster Pipes (the ``caption_model`` asset with ``ACAV_TRAINING_LAUNCHER`` set),
    the main process streams its progress to the Dagster run and reports the materialisation."""
    import argparse

    from dagster_pipes import PipesEnvVarParamsLoader, open_dagster_pipes

    parser = argparse.ArgumentParser(description="Train the audio caption model from a run file (resumes).")
    parser.add_argument("run_file")
    parser.add_argument("out_dir")
    parser.add_argument("--train-data", default="", help="release WebDataset shards, if the run file names none")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config, _ = load_run_file(args.run_file)
    if args.train_data and not config.train_data:
        config = config.with_changes(train_data=args.train_data)
    if not (PipesEnvVarParamsLoader().is_dagster_pipes_process() and _is_main_process()):
        result = train(config, args.out_dir)
        log.info("done: %d steps, checkpoint %s", result.steps, result.checkpoint)
        return
    with open_dagster_pipes() as pipes:
        result = train(config, args.out_dir, progress=pipes.log.info)
        pipes.report_asset_materialization(metadata={
            "checkpoint": {"raw_value": str(result.checkpoint), "type": "path"},
            "steps": result.steps, "resumed_from_step": result.resumed_from, "optimizer": result.optimizer,
            "trainable_parameters": result.trainable_parameters,
            "launched": "out of process (Dagster Pipes)",
        })


if __name__ == "__main__":
    main()
