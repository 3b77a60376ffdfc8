"""Training-curve summaries: is the loss finite and falling, and a plot of it for asset metadata."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from acav_assets.stats.plots import FIGSIZE, figure_markdown


def loss_trend(curve: Sequence[dict], fraction: float = 0.1) -> dict:
    """Mean loss over the first and last ``fraction`` of the steps (at least one step each), and
    whether every loss is finite and the end is below the start."""
    losses = [float(point["loss"]) for point in curve]
    if not losses:
        return {"steps": 0, "finite": False, "first": None, "last": None, "falling": False}
    width = max(1, int(len(losses) * fraction))
    first, last = float(np.mean(losses[:width])), float(np.mean(losses[-width:]))
    finite = all(math.isfinite(x) for x in losses)
    return {"steps": len(losses), "finite": finite, "first": first, "last": last,
            "falling": finite and len(losses) > 1 and last < first}


def loss_curve_markdown(curve: Sequence[dict], title: str = "Training loss") -> str:
    """Loss per optimizer step (with a moving average) and the learning rate on a second axis."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=FIGSIZE)
    if not curve:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=16, color="grey")
        ax.set_axis_off()
        return figure_markdown(fig, title)
    steps = [p["step"] for p in curve]
    losses = np.array([p["loss"] for p in curve], dtype=float)
    ax.plot(steps, losses, color="tab:blue", alpha=0.35, linewidth=0.8, label="loss")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color="tab:blue", label=f"mean of {window}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy")
    rate = ax.twinx()
    rate.plot(steps, [p["learning_rate"] for p in curve], color="tab:orange", linewidth=0.8)
    rate.set_ylabel("learning rate", color="tab:orange")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    return figure_markdown(fig, title)
