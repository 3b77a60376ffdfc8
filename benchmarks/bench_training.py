"""Training speed: samples per second and peak memory of the real training loop (``train``).

    .venv/bin/python benchmarks/bench_training.py              # paper size on CUDA, tiny on CPU
    .venv/bin/python benchmarks/bench_training.py --size tiny --steps 20

``paper``: a Dasheng-Base-sized encoder (768-dim, 12 layers, 12 heads; Dasheng-Base itself when
its hub weights are available) + Qwen3-0.6B (the pinned hub weights when available, else the same
architecture randomly initialised), batch 16, 10 s clips, alignment regime (encoder + adapter +
decoder LoRA), bf16 autocast. Without pretrained weights it says so and uses random ones: speed and
memory do not depend on the values. ``tiny``: the test-sized models (64-dim) on 1 s clips.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acav_assets.training.audio_text_model import (
    DASHENG_BASE_MODEL_ID,
    QWEN3_MODEL_ID,
    QWEN3_REVISION,
)
from acav_assets.training.config import TrainingConfig
from acav_assets.training.examples import Example
from acav_assets.training.loop import train

# Qwen3-0.6B's published architecture (config.json of Qwen/Qwen3-0.6B).
QWEN3_06B = dict(vocab_size=151_936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True,
                 max_position_embeddings=40_960, rope_theta=1_000_000.0, rms_norm_eps=1e-6)
TINY_DECODER = dict(vocab_size=151_669, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16, tie_word_embeddings=True,
                    max_position_embeddings=256, initializer_range=0.3)


def _random_encoder(folder: Path, dim: int, layers: int, heads: int, ffn: int, seconds: int) -> str:
    """A Whisper-architecture encoder of the given size (50 Hz frames) with random weights."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    WhisperModel(WhisperConfig(
        d_model=dim, encoder_layers=layers, encoder_attention_heads=heads, encoder_ffn_dim=ffn, decoder_layers=1,
        decoder_attention_heads=heads, decoder_ffn_dim=ffn, num_mel_bins=64, max_source_positions=50 * seconds,
        max_target_positions=8, vocab_size=8, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        decoder_start_token_id=1)).save_pretrained(str(folder))
    WhisperFeatureExtractor(feature_size=64, chunk_length=seconds).save_pretrained(str(folder))
    return str(folder)


def _random_decoder(folder: Path, **config) -> str:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    Qwen3ForCausalLM(Qwen3Config(**config)).save_pretrained(str(folder))
    return str(folder)


def _hub_available(model_id: str, revision: str | None) -> bool:
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(model_id, revision=revision, local_files_only=True)
        return True
    except Exception:
        return False


def models(size: str, folder: Path) -> tuple[dict, list[str]]:
    """Config fields for the models, and notes on what was used."""
    notes = []
    if size == "tiny":
        return dict(encoder=_random_encoder(folder / "enc", 64, 2, 4, 128, 1),
                    decoder=_random_decoder(folder / "dec", **TINY_DECODER), tokenizer="qwen3-packaged",
                    stack_frames=5), ["tiny random models (test size)"]
    if _hub_available(DASHENG_BASE_MODEL_ID, None):
        encoder = dict(encoder="dasheng-base", stack_frames=5)
        notes.append("encoder: Dasheng-Base pretrained (hub cache)")
    else:
        encoder = dict(encoder=_random_encoder(folder / "enc", 768, 12, 12, 3072, 10), stack_frames=10)
        notes.append("encoder: Dasheng-Base weights NOT available: a random 768-dim, 12-layer, 12-head encoder "
                     "of the same size (50 Hz frames, stacked by 10 to the same 5 Hz)")
    if _hub_available(QWEN3_MODEL_ID, QWEN3_REVISION):
        decoder = dict(decoder=QWEN3_MODEL_ID)
        notes.append("decoder: Qwen3-0.6B pretrained (hub cache)")
    else:
        decoder = dict(decoder=_random_decoder(folder / "dec", **QWEN3_06B), tokenizer="qwen3-packaged")
        notes.append("decoder: Qwen3-0.6B weights NOT available: its architecture, randomly initialised")
    return encoder | decoder, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("paper", "tiny"), default="paper" if torch.cuda.is_available() else "tiny")
    parser.add_argument("--regime", choices=("alignment", "probe"), default="alignment")
    parser.add_argument("--steps", type=int, default=0, help="optimizer steps (default 30 paper, 40 tiny)")
    parser.add_argument("--batch-size", type=int, default=0, help="default 16 paper, 8 tiny")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    args = parser.parse_args()
    seconds = 10.0 if args.size == "paper" else 1.0
    steps = args.steps or (30 if args.size == "paper" else 40)
    batch = args.batch_size or (16 if args.size == "paper" else 8)
    warmup = max(2, steps // 5)  # steps excluded from the rate (allocator, autotuning)

    rng = np.random.default_rng(0)
    words = "a dog barks while rain falls on a tin roof and a man speaks softly in the distance".split()
    examples = [Example(f"clip{i}", rng.normal(0, 0.1, int(seconds * 16_000)).astype(np.float32),
                        "Describe this audio in detail.", " ".join(rng.choice(words, 40))) for i in range(batch * 8)]

    def source(seed: int, part: int, parts: int):
        order = examples[:]
        random.Random(seed).shuffle(order)
        return order[part::parts]

    with tempfile.TemporaryDirectory() as tmp:
        fields, notes = models(args.size, Path(tmp))
        config = TrainingConfig(regime=args.regime, batch_size=batch, max_steps=steps, warmup_steps=1,
                                save_every=10 ** 9, log_every=10 ** 9, max_audio_seconds=seconds,
                                gradient_checkpointing=args.gradient_checkpointing, **fields)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        result = train(config, Path(tmp) / "run", source, progress=lambda message: None)
        total = time.perf_counter() - started
    curve = result.curve
    rate = (curve[-1]["samples"] - curve[warmup - 1]["samples"]) / (curve[-1]["seconds"] - curve[warmup - 1]["seconds"])
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    print(f"device: {device}; size {args.size}; regime {args.regime}; batch {batch} x {seconds:.0f} s clips; "
          f"optimizer {result.optimizer}; {result.trainable_parameters:,} trainable parameters")
    for note in notes:
        print(f"  {note}")
    print(f"training: {rate:.2f} samples/s ({rate / batch:.2f} steps/s) over steps {warmup + 1}-{steps}; "
          f"{total:.1f} s in all (loading, {steps} steps, one checkpoint)")
    if torch.cuda.is_available():
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB allocated")
    print(f"peak process memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(f"loss: {curve[0]['loss']:.3f} -> {curve[-1]['loss']:.3f}")


if __name__ == "__main__":
    main()
