"""The :class:`AudioCaptionModel` for a :class:`TrainingConfig`: encoder, adapter and (LoRA)
decoder from a checkpoint, else ``init_from``, else the pretrained sources, trainable parts set
by the regime; hub revisions pinned to the commits loaded; a checkpoint's model for inference."""

from __future__ import annotations

from pathlib import Path

import torch

from acav_assets.contracts.trusted_models import remote_code_options, trusted_revision
from acav_assets.training import training_module
from acav_assets.training.audio_text_model import (
    DASHENG_BASE_MODEL_ID,
    DASHENG_BASE_REVISION,
    QWEN3_MODEL_ID,
    QWEN3_REVISION,
    AudioCaptionModel,
    AudioEncoder,
    FrameStackAdapter,
    dasheng_base,
    decoder_embedding_size,
    load_decoder,
    load_tokenizer,
)
from acav_assets.training.checkpoints import COMPLETE
from acav_assets.training.config import TrainingConfig


def _encoder(config: TrainingConfig, folder: Path | None) -> AudioEncoder:
    """Remote code (Dasheng's, or any with ``trust_remote_code``) runs only at an allowlisted
    commit; a checkpoint's encoder folder is vouched for by the run config's pinned revision."""
    dasheng = config.encoder in ("dasheng-base", DASHENG_BASE_MODEL_ID)
    hub_id = DASHENG_BASE_MODEL_ID if dasheng else config.encoder
    if folder is not None:
        _, trust = remote_code_options(str(folder), requested=config.trust_remote_code or dasheng,
                                       recorded=(hub_id, config.encoder_revision or None))
        return AudioEncoder.load(folder, trust_remote_code=trust)
    if dasheng:
        return dasheng_base(trusted_revision(DASHENG_BASE_MODEL_ID, config.encoder_revision or DASHENG_BASE_REVISION))
    revision, trust = remote_code_options(config.encoder, config.encoder_revision or None, config.trust_remote_code)
    return AudioEncoder.from_pretrained(config.encoder, revision=revision, trust_remote_code=trust,
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
    peft = training_module("peft")
    LoraConfig, PeftModel, get_peft_model = peft.LoraConfig, peft.PeftModel, peft.get_peft_model

    init = Path(config.init_from) if config.init_from else None
    if init is not None and not (init / COMPLETE).exists():
        raise FileNotFoundError(f"init_from {init} is not a complete checkpoint")
    encoder = _encoder(config, _part("encoder", checkpoint, init))
    tokenizer_folder = _part("tokenizer", checkpoint, init)
    tokenizer = load_tokenizer(str(tokenizer_folder) if tokenizer_folder else (config.tokenizer or config.decoder),
                               None if tokenizer_folder or config.tokenizer else _decoder_revision(config))
    decoder_revision, trust = remote_code_options(config.decoder, _decoder_revision(config), config.trust_remote_code)
    decoder = load_decoder(config.decoder, decoder_revision, trust_remote_code=trust)
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


def load_trained_model(checkpoint: str | Path, device: str | torch.device | None = None) -> AudioCaptionModel:
    """A checkpoint's model for inference, in eval mode."""
    checkpoint = Path(checkpoint)
    if not (checkpoint / COMPLETE).exists():
        raise FileNotFoundError(f"{checkpoint} is not a complete training checkpoint")
    model = build_model(TrainingConfig.from_json(checkpoint / "run_config.json"), checkpoint)
    model.requires_grad_(False)
    return model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
