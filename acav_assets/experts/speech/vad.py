"""Voice activity detection: the speech regions of a clip (Silero VAD's ONNX model on onnxruntime).

:class:`VoiceActivityDetector` is the interface the speech expert needs; :class:`SileroVad`
implements it. Nothing here imports Dagster.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from acav_assets.experts.speech.errors import ModelUnavailableError
from acav_assets.experts.speech.resampling import RATE, _to_rate
from acav_assets.io.package_data import package_data

__all__ = ["SileroVad", "VoiceActivityDetector"]


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Finds the speech in a clip."""

    def segments(self, audio: np.ndarray, sample_rate: int = RATE) -> list[tuple[float, float]]:
        """Speech regions as ``(start_s, end_s)``, sorted and non-overlapping."""
        ...


class SileroVad:
    """Silero VAD (the ONNX model inside the ``silero-vad`` package) run with onnxruntime.

    The package's own API imports torch; this class reads only its ONNX file, so it needs
    numpy and onnxruntime. The model scores 32 ms frames (512 samples at 16 kHz, plus 64
    samples of left context) with a recurrent state; frames are turned into regions by
    hysteresis: speech starts at ``threshold``, ends after ``min_silence_s`` below
    ``neg_threshold``; regions shorter than ``min_speech_s`` are dropped, the rest padded
    by ``speech_pad_s``. Defaults are Silero's. No maximum region length: clips are short.
    Thread-safe: the recurrent state lives in each call.
    """

    FRAME = 512
    CONTEXT = 64

    def __init__(
        self,
        threshold: float = 0.5,
        neg_threshold: float | None = None,
        min_speech_s: float = 0.25,
        min_silence_s: float = 0.1,
        speech_pad_s: float = 0.03,
        model_path: str | os.PathLike | None = None,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
        self.min_speech_s = min_speech_s
        self.min_silence_s = min_silence_s
        self.speech_pad_s = speech_pad_s
        self.model_path = Path(model_path) if model_path is not None else _silero_onnx_path()

        import onnxruntime

        options = onnxruntime.SessionOptions()
        # A 1.8 MB recurrent model run frame by frame: more threads only add overhead.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Per-frame speech probability of 16 kHz audio, one value per 32 ms frame."""
        x = np.asarray(audio, dtype=np.float32).reshape(-1)
        n_frames = math.ceil(x.size / self.FRAME)
        if n_frames == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros(n_frames * self.FRAME, dtype=np.float32)
        frames[: x.size] = x
        frames = frames.reshape(n_frames, self.FRAME)
        # Each frame is fed with the last 64 samples of the one before (zeros for the first).
        context = np.zeros((n_frames, self.CONTEXT), dtype=np.float32)
        context[1:] = frames[:-1, -self.CONTEXT :]
        inputs = np.concatenate([context, frames], axis=1)
        state = np.zeros((2, 1, 128), dtype=np.float32)
        rate = np.array(RATE, dtype=np.int64)
        probs = np.empty(n_frames, dtype=np.float32)
        for i in range(n_frames):  # recurrent: each frame needs the previous state
            out, state = self._session.run(None, {"input": inputs[i : i + 1], "state": state, "sr": rate})
            probs[i] = out[0, 0]
        return probs

    def segments(self, audio: np.ndarray, sample_rate: int = RATE) -> list[tuple[float, float]]:
        """Speech regions ``(start_s, end_s)`` of mono audio, rounded to milliseconds."""
        x = _to_rate(np.asarray(audio, dtype=np.float32).reshape(-1), sample_rate)
        if x.size == 0:
            return []
        probs = self.speech_probabilities(x)
        frame_s = self.FRAME / RATE
        duration = x.size / RATE
        spans = []
        start = silence_start = None
        for i, p in enumerate(probs):
            if p >= self.threshold:
                if start is None:
                    start = i
                silence_start = None
            elif start is not None and p < self.neg_threshold:
                if silence_start is None:
                    silence_start = i
                if (i + 1 - silence_start) * frame_s >= self.min_silence_s:
                    spans.append((start, silence_start))
                    start = silence_start = None
        if start is not None:
            spans.append((start, silence_start if silence_start is not None else len(probs)))

        merged: list[list[float]] = []
        for begin, end in spans:
            if (end - begin) * frame_s < self.min_speech_s:
                continue
            s = max(0.0, begin * frame_s - self.speech_pad_s)
            e = min(duration, end * frame_s + self.speech_pad_s)
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        return [(round(s, 3), round(e, 3)) for s, e in merged]


def _silero_onnx_path() -> Path:
    """The ONNX model inside ``silero-vad`` (found without importing the package, which imports torch)."""
    return package_data(
        "silero_vad", "data", "silero_vad.onnx", what="Silero VAD", error=ModelUnavailableError,
        install="pip install --no-deps silero-vad (only its bundled ONNX model is used; torch is not needed)",
    )
