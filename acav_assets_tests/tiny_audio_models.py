"""Tiny random encoder (Whisper-style) and decoder (Qwen3-style) saved with ``save_pretrained``,
so tests load them through the real ``from_pretrained`` code, offline. Plus generated tones whose
pitch class is the known answer, and a tiny release-format WebDataset shard."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

SAMPLE_RATE = 16_000
VOICE_RANGES = {"bass": 150.0, "tenor": 300.0, "alto": 600.0, "soprano": 1200.0}
QWEN3_VOCAB = 151_669  # the packaged Qwen3 tokenizer's size: the real token ids fit


def save_tiny_models(folder: Path, decoder_init_range: float = 0.3, seed: int = 0) -> tuple[str, str]:
    """(encoder folder, decoder folder). The decoder's larger initialiser range gives its tied
    output layer logits with a usable range, as a pretrained model has (0.02 leaves them near
    uniform, so the loss can barely move in a few hundred steps)."""
    from transformers import (
        Qwen3Config,
        Qwen3ForCausalLM,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperModel,
    )

    torch.manual_seed(seed)  # the same random models in every session
    encoder, decoder = folder / "encoder", folder / "decoder"
    if not (encoder / "config.json").exists():
        WhisperModel(WhisperConfig(
            d_model=64, encoder_layers=2, decoder_layers=1, encoder_attention_heads=4, decoder_attention_heads=4,
            encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=50,
            max_target_positions=16, vocab_size=100, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            decoder_start_token_id=1)).save_pretrained(str(encoder))
        WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(str(encoder))
    if not (decoder / "config.json").exists():
        Qwen3ForCausalLM(Qwen3Config(
            vocab_size=QWEN3_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, tie_word_embeddings=True, max_position_embeddings=256,
            initializer_range=decoder_init_range)).save_pretrained(str(decoder))
    return str(encoder), str(decoder)


def tone(label: str, rng: np.random.Generator, seconds: float = 1.0) -> np.ndarray:
    """A note of the label's pitch (±7 %), three harmonics of random strength and phase, random
    level, an attack/release envelope and a little noise."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0 = VOICE_RANGES[label] * rng.uniform(0.93, 1.07)
    wave = sum(rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) for h in (1, 2, 3))
    envelope = np.minimum(1.0, np.minimum(t / 0.02, (seconds - t) / 0.05))
    return (wave * envelope * rng.uniform(0.1, 0.5) + rng.normal(0, 0.01, n)).astype(np.float32)


def write_release_shard(path: Path, clips: dict[str, dict]) -> None:
    """A ``train-000000.tar`` in the release's layout: ``{key}.flac`` + ``{key}.json`` per clip;
    ``clips`` maps key -> {"audio": array, **caption fields}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for key, clip in clips.items():
            flac = io.BytesIO()
            sf.write(flac, clip["audio"], SAMPLE_RATE, format="FLAC")
            meta = {k: v for k, v in clip.items() if k != "audio"} | {"key": key}
            for name, payload in ((f"{key}.flac", flac.getvalue()), (f"{key}.json", json.dumps(meta).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))


def release_captions(domain: str, pitch: str) -> dict:
    """Caption fields of one release line for a tone clip (three variants per facet)."""
    return {
        "domain": domain,
        "long": [f"A sustained {pitch} note rings out clearly.", f"One {pitch} tone plays.", f"A {pitch} pitched note."],
        "short": [f"A {pitch} note.", f"{pitch} tone.", f"Single {pitch} note."],
        "speech": ["None", "No discernible speech content", "Absence of verbal communication"],
        "music": [f"A {pitch} synthesised tone.", f"Music: one {pitch} note.", f"A {pitch} note, no rhythm."],
        "sound": ["None", "No sound events beyond the note", "No other sounds"],
        "environment": ["A clean, dry recording.", "Quiet and clean.", "No noise or reverberation."],
        "qa": [], "model": "test",
    }
