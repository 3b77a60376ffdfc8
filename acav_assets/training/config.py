"""A training run's settings: :class:`TrainingConfig` (the paper's defaults, validated) and the run
file (``{data_root}/training_runs/{run}.json``: the config's fields plus ``predictions`` and
``downstream`` sections)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from acav_assets.captions.schema import FACETS
from acav_assets.training.audio_text_model import QWEN3_MODEL_ID

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


@dataclass
class TrainingConfig:
    """One training run. Defaults are the paper's; ``encoder="dasheng-base"`` is the hub model."""

    regime: str = "alignment"
    train_data: str = ""  # WebDataset shards: a folder, glob, brace pattern or list (the release's)
    encoder: str = "dasheng-base"  # "dasheng-base", or any transformers audio model (hub id or folder)
    encoder_revision: str = ""
    encoder_frame_rate: float = 0.0  # 0: known per model type, else measured
    trust_remote_code: bool = False  # honoured only at an allowlisted commit (ACAV_TRUSTED_REMOTE_CODE)
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
