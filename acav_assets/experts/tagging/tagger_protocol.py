"""The interface every AudioSet tagger implements, and the input helpers they share.

ACAVCaps routes every clip by running an AudioSet tagger on 2 s windows (see the ACAVCaps
paper). Two implementations share the :class:`AudioTagger` protocol:
:class:`~acav_assets.experts.tagging.yamnet_tagger.YamnetTagger` (lite profile, fully offline)
and :class:`~acav_assets.experts.tagging.hub_tagger.HubAudioTagger` (paper profile). A tagger
whose model cannot be found or loaded raises :class:`TaggerModelUnavailable`.

Scores are probabilities in [0, 1] per AudioSet mid (``label_mids``), float32.

No Dagster imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "SAMPLE_RATE",
    "AudioTagger",
    "TaggerModelUnavailable",
]

SAMPLE_RATE = 16_000


class TaggerModelUnavailable(RuntimeError):
    """The tagger's model files cannot be found or loaded here (no hub, not cached, not installed)."""


@runtime_checkable
class AudioTagger(Protocol):
    """Scores AudioSet classes for mono 16 kHz audio windows.

    ``predict`` takes any number of 1-D float arrays (any lengths; very short ones are
    zero-padded to the model's minimum) and returns ``[len(windows), len(label_mids)]`` float32
    probabilities, batching internally. ``supports_whole_clip`` says whether a whole clip
    (up to ~10 s) is a sensible single input.
    """

    label_mids: tuple[str, ...]
    sample_rate: int
    supports_whole_clip: bool

    def predict(self, windows: Sequence[np.ndarray]) -> np.ndarray: ...


def _as_mono(audio: np.ndarray) -> np.ndarray:
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"expected mono audio as a 1-D array, got shape {array.shape}")
    return array


def _length_groups(lengths: Sequence[int]) -> dict[int, list[int]]:
    """Indices grouped by length, so equal-length inputs batch without padding artefacts."""
    groups: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        groups.setdefault(length, []).append(index)
    return groups
