"""Training the audio caption model, as in the paper's Section 4.

Two regimes: ``alignment`` (encoder and adapter trained, decoder fine-tuned with LoRA through
``peft``) and ``probe`` (encoder and decoder frozen, only the adapter trained: the downstream
evaluation). AdamW8bit (bitsandbytes), linear warm-up then cosine decay to ``min_lr_ratio``,
gradient accumulation, bf16 autocast on GPU, optional gradient checkpointing. Devices and
multi-GPU come from ``accelerate``: run the same code under ``accelerate launch`` or ``torchrun``.

A run writes ``{out}/checkpoints/step-NNNNNNNN/`` (adapter, LoRA, encoder when trained, run
config, tokenizer, optimizer state, training curve; see ``checkpoints.py``) and resumes from the
newest complete one. ``progress`` is a plain callback: the Dagster Pipes entry point
(``acav_assets/defs/training_pipes_entry.py``) passes its log, the in-process asset its context's.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from acav_assets.training import training_module
from acav_assets.training.audio_text_model import trainable_parameters
from acav_assets.training.checkpoints import (
    latest_checkpoint,
    load_training_state,
    read_curve,
    save_checkpoint,
)
from acav_assets.training.config import TrainingConfig
from acav_assets.training.examples import BatchStream, Example, caption_examples
from acav_assets.training.model_assembly import build_model, pin_revisions

log = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    checkpoint: Path
    steps: int
    resumed_from: int
    optimizer: str
    curve: list[dict]
    trainable_parameters: int


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


def is_main_process() -> bool:
    """Rank 0 of a ``torchrun`` / ``accelerate launch`` job (or a single process), before
    ``accelerate`` is started."""
    return os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) == "0"


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
    Accelerator = training_module("accelerate").Accelerator
    set_seed = training_module("accelerate.utils").set_seed

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
        state = load_training_state(resume)
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
