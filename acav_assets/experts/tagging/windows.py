"""The 2-second windowing the routing uses: :func:`split_windows`, :func:`tag_clip`, :func:`tag_clips`.

A clip is cut into consecutive, non-overlapping ``window_s`` windows starting at 0. A trailing
remainder of at least half a window becomes its own, shorter window; a shorter remainder is
merged into the previous window (so windows last between ``window_s / 2`` and
``1.5 * window_s``, and a clip shorter than one window is a single window). Clip scores come
from the whole clip when the tagger can take it (``supports_whole_clip``), otherwise they are
the maximum over windows. Works with any :class:`~acav_assets.experts.tagging.tagger_protocol.AudioTagger`.

With ``frames=True`` a clip is also scored on short overlapping frames (:func:`split_frames`: 0.975 s,
YAMNet's patch, every 0.48 s, the last one ending at the clip's end), so routing can tell a
half-second event from the bed it sits in (``ClipTags.frame_scores``).

No Dagster imports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from acav_assets.experts.tagging.tagger_protocol import (
    SAMPLE_RATE,
    AudioTagger,
    _as_mono,
)

__all__ = [
    "ClipTags",
    "split_frames",
    "split_windows",
    "tag_clip",
    "tag_clips",
]


class ClipTags(NamedTuple):
    """Tagging result for one clip: per-window scores, window start times, clip scores, and
    per-frame scores when asked for (``tag_clips(..., frames=True)``)."""

    window_scores: np.ndarray  # [W, C] float32
    window_starts_s: np.ndarray  # [W] float64, seconds from the clip start
    clip_scores: np.ndarray  # [C] float32
    frame_scores: np.ndarray | None = None  # [F, C] float32, frames of FRAME_S every FRAME_HOP_S
    frame_starts_s: np.ndarray | None = None  # [F] float64


def split_windows(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, window_s: float = 2.0
) -> tuple[list[np.ndarray], np.ndarray]:
    """Cut ``audio`` into consecutive windows (see the module docstring for the tail rule).

    Returns the windows (views into ``audio``) and their start times in seconds. Empty audio
    gives no windows.
    """
    audio = _as_mono(audio)
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    window = max(1, round(window_s * sample_rate))
    total = audio.shape[0]
    if total == 0:
        return [], np.zeros(0, dtype=np.float64)
    full, rest = divmod(total, window)
    bounds = [[i * window, (i + 1) * window] for i in range(full)]
    if not bounds:
        bounds = [[0, total]]
    elif rest:
        if rest * 2 >= window:
            bounds.append([full * window, total])
        else:
            bounds[-1][1] = total
    windows = [audio[start:end] for start, end in bounds]
    starts = np.array([start / sample_rate for start, _ in bounds], dtype=np.float64)
    return windows, starts


FRAME_S = 0.975  # one YAMNet patch: 96 log-mel frames of 10 ms plus the 25 ms STFT window
FRAME_HOP_S = 0.48


def split_frames(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, frame_s: float = FRAME_S, hop_s: float = FRAME_HOP_S
) -> tuple[list[np.ndarray], np.ndarray]:
    """Overlapping ``frame_s`` frames every ``hop_s`` from 0, plus one ending at the clip's end when
    the hops stop short of it (a clip shorter than a frame is one frame). Returns the frames
    (views) and their start times in seconds; empty audio gives none."""
    audio = _as_mono(audio)
    frame, hop, total = max(1, round(frame_s * sample_rate)), max(1, round(hop_s * sample_rate)), audio.shape[0]
    if total == 0:
        return [], np.zeros(0, dtype=np.float64)
    starts = list(range(0, max(total - frame, 0) + 1, hop))
    if starts[-1] + frame < total:
        starts.append(total - frame)
    return [audio[s:s + frame] for s in starts], np.array(starts, dtype=np.float64) / sample_rate


def tag_clip(tagger: AudioTagger, audio: np.ndarray, window_s: float = 2.0) -> ClipTags:
    """Tag one clip: scores per ``window_s`` window plus clip-level scores.

    ``audio`` must already be mono at ``tagger.sample_rate``. Clip scores are the tagger's
    scores for the whole clip when ``tagger.supports_whole_clip``, else the max over windows.
    """
    return tag_clips(tagger, [audio], window_s=window_s)[0]


def tag_clips(
    tagger: AudioTagger, clips: Sequence[np.ndarray], window_s: float = 2.0, batch_size: int = 256,
    frames: bool = False,
) -> list[ClipTags]:
    """Tag many clips, sending the windows of all clips through ``predict`` together.

    Windows are gathered across clips and passed to ``tagger.predict`` ``batch_size`` at a
    time, which is where batching pays off (the tagger splits them into its own model batches;
    a GPU tagger queues them all before waiting); results are identical to :func:`tag_clip`
    per clip. Each clip's constant (DC) offset is removed first. ``frames`` also scores each clip
    on :func:`split_frames` frames (one more pass of ``predict``, about twice the windows' work).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    n_classes = len(tagger.label_mids)
    clips = [_without_offset(_as_mono(clip)) for clip in clips]
    split = [split_windows(clip, tagger.sample_rate, window_s) for clip in clips]
    flat = [window for windows, _ in split for window in windows]
    scores = _predict_in_chunks(tagger.predict, flat, batch_size, n_classes)

    whole: np.ndarray | None = None
    if tagger.supports_whole_clip:
        nonempty = [i for i, (windows, _) in enumerate(split) if windows]
        whole = np.zeros((len(split), n_classes), dtype=np.float32)
        if nonempty:
            whole[nonempty] = _predict_in_chunks(
                tagger.predict, [_as_mono(clips[i]) for i in nonempty], batch_size, n_classes
            )

    framed = [split_frames(clip, tagger.sample_rate) for clip in clips] if frames else []
    frame_scores = _predict_in_chunks(tagger.predict, [f for fs, _ in framed for f in fs], batch_size, n_classes)

    results: list[ClipTags] = []
    offset = frame_offset = 0
    for index, (windows, starts) in enumerate(split):
        window_scores = scores[offset : offset + len(windows)]
        offset += len(windows)
        if whole is not None:
            clip_scores = whole[index]
        elif len(windows):
            clip_scores = window_scores.max(axis=0)
        else:
            clip_scores = np.zeros(n_classes, dtype=np.float32)
        tags = ClipTags(window_scores, starts, clip_scores)
        if frames:
            count = len(framed[index][0])
            tags = tags._replace(frame_scores=frame_scores[frame_offset:frame_offset + count],
                                 frame_starts_s=framed[index][1])
            frame_offset += count
        results.append(tags)
    return results


def _without_offset(audio: np.ndarray) -> np.ndarray:
    """``audio`` less its mean: a constant offset is no sound (acoustics measures without it too),
    but a tagger hears it as noise."""
    return (audio - audio.mean(dtype=np.float64)).astype(np.float32) if audio.size else audio


def _predict_in_chunks(
    predict: Callable[[Sequence[np.ndarray]], np.ndarray],
    windows: Sequence[np.ndarray],
    batch_size: int,
    n_classes: int,
) -> np.ndarray:
    if not windows:
        return np.zeros((0, n_classes), dtype=np.float32)
    parts = [predict(windows[i : i + batch_size]) for i in range(0, len(windows), batch_size)]
    return np.concatenate(parts, axis=0).astype(np.float32, copy=False)
