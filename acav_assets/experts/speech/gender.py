"""Male/female voice estimate: the voice2gender model, with a median-pitch heuristic as fallback.

Binary labels of vocal acoustics only; they say nothing about anyone's gender identity.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from acav_assets.experts.speech.resampling import RATE

logger = logging.getLogger(__name__)

__all__ = ["GenderEstimate", "GenderEstimator", "pitch_gender"]

# Adult F0 ranges overlap little around here (men ~85-155 Hz, women ~165-255 Hz).
PITCH_GENDER_BOUNDARY_HZ = 165.0
# Ratio from the boundary at which the pitch heuristic is fully confident (122 / 223 Hz).
_PITCH_GENDER_FULL_RATIO = 1.35


class GenderEstimate(NamedTuple):
    label: str | None  # "male" | "female" | None (no usable voice)
    confidence: float | None  # in [0, 1]
    method: str  # "voice2gender" | "pitch"


def pitch_gender(pitch_median_hz: float | None) -> GenderEstimate:
    """Male/female from median F0 alone: a heuristic around 165 Hz, not a model.

    Confidence grows with the log distance from 165 Hz and is 1 beyond 122 Hz or 223 Hz.
    """
    if pitch_median_hz is None or not math.isfinite(pitch_median_hz) or pitch_median_hz <= 0:
        return GenderEstimate(None, None, "pitch")
    distance = abs(math.log(pitch_median_hz / PITCH_GENDER_BOUNDARY_HZ))
    confidence = min(1.0, distance / math.log(_PITCH_GENDER_FULL_RATIO))
    label = "female" if pitch_median_hz >= PITCH_GENDER_BOUNDARY_HZ else "male"
    return GenderEstimate(label, confidence, "pitch")


class GenderEstimator:
    """Male/female voice estimate: ``voice2gender`` (XGBoost on 20 pitch/spectral features).

    Falls back to :func:`pitch_gender` when voice2gender (or xgboost) is not installed, when
    ``use_model=False``, or when it rejects a clip (too short, no F0 found). Binary labels of
    vocal acoustics only; they say nothing about anyone's gender identity.
    """

    def __init__(self, use_model: bool = True) -> None:
        self._predict: Callable[..., dict] | None = None
        if use_model:
            try:
                from voice2gender import predict  # loads its bundled booster once
            except ImportError as error:
                logger.warning("voice2gender unavailable (%s); using the pitch heuristic", error)
            else:
                self._predict = predict

    @property
    def method(self) -> str:
        return "voice2gender" if self._predict is not None else "pitch"

    def estimate(
        self, speech: np.ndarray, sample_rate: int = RATE, pitch_median_hz: float | None = None
    ) -> GenderEstimate:
        """Estimate from speech-only audio (VAD regions joined); ``pitch_median_hz`` feeds the fallback."""
        if self._predict is not None:
            x = np.asarray(speech, dtype=np.float32).reshape(-1)
            pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
            try:
                result = self._predict([pcm], sample_rate=int(sample_rate))
            except (ValueError, TypeError) as error:  # too short, silent, no F0
                logger.debug("voice2gender declined the clip (%s); using pitch", error)
            else:
                female = float(result["female_probability"])
                return GenderEstimate(
                    "female" if female >= 0.5 else "male",
                    float(min(1.0, max(0.0, result["confidence"]))),
                    "voice2gender",
                )
        return pitch_gender(pitch_median_hz)
