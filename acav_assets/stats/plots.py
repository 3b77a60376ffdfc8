"""Small summary plots as Markdown with an embedded base64 PNG, for Dagster asset metadata.

Matplotlib runs with the Agg backend; every function handles empty input with a "no data" PNG."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

FIGSIZE = (6.0, 3.5)
DPI = 80


def figure_markdown(fig: Figure, title: str) -> str:
    """Render ``fig`` to PNG, close it, and return ``![title](data:image/png;base64,...)``."""
    buffer = io.BytesIO()
    try:
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return f"![{title}](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')})"


def png_bytes(markdown: str) -> bytes:
    """The PNG bytes embedded in a Markdown string from this module."""
    return base64.b64decode(markdown.split("base64,", 1)[1].rstrip(")"))


NO_DATA = "no data"


def no_data(title: str) -> str:
    """A placeholder PNG saying "no data", its alt text ``title: no data``."""
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=16, color="grey")
    ax.set_title(title)
    ax.set_axis_off()
    return figure_markdown(fig, f"{title}: {NO_DATA}")


def domain_distribution(counts: Mapping[str, int], title: str = "Clips per domain") -> str:
    """Bar chart of clips per domain (S/M/A letters), counts written on the bars."""
    if not counts or sum(counts.values()) == 0:
        return no_data(title)
    domains = sorted(counts)
    values = [counts[d] for d in domains]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    bars = ax.bar(domains, values, color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8)
    ax.set_xlabel("domain")
    ax.set_ylabel("clips")
    ax.set_title(title)
    return figure_markdown(fig, title)


def duration_histogram(durations: Sequence[float], title: str = "Clip durations") -> str:
    """Histogram of clip durations in seconds."""
    values = np.asarray([d for d in durations if d is not None and np.isfinite(d)], dtype=float)
    if values.size == 0:
        return no_data(title)
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.hist(values, bins=min(50, max(1, np.unique(values).size)), color="tab:green")
    ax.set_xlabel("seconds")
    ax.set_ylabel("clips")
    ax.set_title(f"{title} (n={values.size:,}, mean {values.mean():.1f} s)")
    return figure_markdown(fig, title)


def caption_length_histograms(lengths_by_facet: Mapping[str, Sequence[int]],
                              title: str = "Words per caption") -> str:
    """One small histogram of words per caption for each facet."""
    facets = [f for f, v in lengths_by_facet.items() if len(v)]
    if not facets:
        return no_data(title)
    columns = min(3, len(facets))
    rows = -(-len(facets) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=FIGSIZE, squeeze=False)
    for ax, facet in zip(axes.flat, facets):
        values = np.asarray(lengths_by_facet[facet], dtype=float)
        ax.hist(values, bins=min(30, max(1, np.unique(values).size)), color="tab:purple")
        ax.set_title(f"{facet} (mean {values.mean():.1f})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(facets):]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return figure_markdown(fig, title)


def token_rank_plot(frequencies: Sequence[int], title: str = "Token rank/frequency") -> str:
    """Log-log plot of token frequency against rank (frequencies are sorted here)."""
    values = np.sort(np.asarray([f for f in frequencies if f and f > 0], dtype=float))[::-1]
    if values.size == 0:
        return no_data(title)
    ranks = np.arange(1, values.size + 1)
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.loglog(ranks, values, marker="." if values.size < 50 else None, color="tab:red")
    ax.set_xlabel("rank")
    ax.set_ylabel("frequency")
    ax.set_title(f"{title} ({values.size:,} types)")
    return figure_markdown(fig, title)
