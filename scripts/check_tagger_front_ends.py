"""Check the batched tagger front ends against torchaudio, on the CPU and on CUDA if present.

    python scripts/check_tagger_front_ends.py

Needs ``torchaudio`` (the build machines have none; the paper profile's CED needs it anyway).
AST: ``ASTFeatureExtractor`` computes its Kaldi filter bank with torchaudio when it is installed,
so the comparison is with that path. CED: its hub extractor is torchaudio's MelSpectrogram and
AmplitudeToDB(top_db=120) with the settings below; an extractor built the same way stands in for
it (its remote code is not loaded here). Prints the largest relative difference per case; the
tagger accepts a front end at or under ``FRONT_END_TOLERANCE``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acav_assets.experts.tagging.front_ends import front_end_for, largest_difference
from acav_assets.experts.tagging.hub_tagger import FRONT_END_TOLERANCE

RATE = 16_000


class CedFeatureExtractor:
    """CED's hub extractor, rebuilt from torchaudio with its published defaults."""

    def __init__(self) -> None:
        self.sampling_rate, self.f_min, self.f_max, self.center = RATE, 0, None, True
        self.win_size, self.n_fft, self.hop_size, self.feature_size = 512, 512, 160, 64

    def __call__(self, x, sampling_rate=None, return_tensors="pt"):
        import torchaudio.transforms as T

        mel = T.MelSpectrogram(sample_rate=RATE, n_fft=self.n_fft, win_length=self.win_size,
                               hop_length=self.hop_size, f_min=self.f_min, f_max=self.f_max,
                               n_mels=self.feature_size, center=self.center)
        x = torch.from_numpy(x).float() if isinstance(x, np.ndarray) else x.float()
        return {"input_values": T.AmplitudeToDB(top_db=120)(mel(x))}


def test_batch() -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(2 * RATE) / RATE
    return np.stack([
        0.1 * rng.standard_normal(t.size),
        0.5 * np.sin(2 * np.pi * 440 * t),
        np.sin(2 * np.pi * (200 + 2000 * t) * t) * (t > 1),
        np.zeros(t.size),  # digital silence: the dB floor and log floor decide it
        1e-4 * rng.standard_normal(t.size),
    ]).astype(np.float32)


def main() -> None:
    from transformers import ASTFeatureExtractor
    from transformers.utils import is_speech_available

    if not is_speech_available():
        sys.exit("torchaudio is not installed: nothing to compare with")
    batch = test_batch()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    extractors = {
        "AST-Base (128 mels, 1024 frames)": ASTFeatureExtractor(),
        "AST, 2 s window (128 mels, 208 frames)": ASTFeatureExtractor(max_length=208),
        "CED (64 mels, torchaudio)": CedFeatureExtractor(),
    }
    worst = 0.0
    for name, extractor in extractors.items():
        theirs = extractor(batch, sampling_rate=RATE, return_tensors="pt")
        front_end = front_end_for(extractor)
        for device in devices:
            ours = front_end(torch.from_numpy(batch).to(device))
            difference = largest_difference(ours, theirs)
            worst = max(worst, difference)
            print(f"{name:<40} {device:<5} shape {tuple(ours['input_values'].shape)}  "
                  f"largest relative difference {difference:.2e}")
    print(f"tolerance {FRONT_END_TOLERANCE:.0e}: {'all within' if worst <= FRONT_END_TOLERANCE else 'EXCEEDED'}")
    sys.exit(0 if worst <= FRONT_END_TOLERANCE else 1)


if __name__ == "__main__":
    main()
