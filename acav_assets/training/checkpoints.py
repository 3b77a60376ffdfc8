"""A run's checkpoints on disk: ``{out}/checkpoints/step-NNNNNNNN/`` (adapter, LoRA, encoder when
trained, run config, tokenizer, optimizer state with its sha256 sidecar, ``curve.csv``), written
through a temporary folder and marked ``COMPLETE``; the newest complete one is where a run resumes."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
from pathlib import Path

import torch

from acav_assets.contracts.trusted_models import verify_checkpoint, write_sidecar
from acav_assets.training import training_module
from acav_assets.training.audio_text_model import AudioCaptionModel
from acav_assets.training.config import TrainingConfig

CHECKPOINTS = "checkpoints"
COMPLETE = "COMPLETE"
TRAINING_STATE = "training_state.pt"  # with ``training_state.pt.sha256`` beside it
CURVE_FIELDS = ("step", "loss", "learning_rate", "samples", "seconds")


def checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(out_dir) / CHECKPOINTS
    found = [p for p in folder.glob("step-*") if (p / COMPLETE).exists()] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    found = checkpoints(out_dir)
    return found[-1] if found else None


def load_training_state(checkpoint: str | Path) -> dict:
    """A checkpoint's optimizer, scheduler and RNG state: its sha256 checked against the sidecar
    written at save time (or opted out of by name), tensors and plain values only."""
    path = Path(checkpoint) / TRAINING_STATE
    verify_checkpoint(path)
    return torch.load(path, map_location="cpu", weights_only=True)


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
    from safetensors.torch import save_file

    PeftModel = training_module("peft").PeftModel

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
                "torch_rng": torch.get_rng_state()}, temporary / TRAINING_STATE)
    write_sidecar(temporary / TRAINING_STATE)
    write_curve(curve, temporary / "curve.csv")
    (temporary / COMPLETE).write_text(str(step))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    for old in checkpoints(out_dir)[:-config.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return final
