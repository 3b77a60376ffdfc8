"""Plots return Markdown with an embedded PNG, and cope with empty input."""

from __future__ import annotations

import re

import numpy as np
import pytest

from acav_assets.captions.schema import FACETS
from acav_assets.stats import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MARKDOWN = re.compile(r"!\[[^\]]*\]\(data:image/png;base64,[A-Za-z0-9+/=]+\)")

rng = np.random.default_rng(0)
EXAMPLES = {
    "domain_distribution": (plots.domain_distribution, {"00A": 58, "0M0": 623, "S00": 2210, "SMA": 88, "000": 12}),
    "duration_histogram": (plots.duration_histogram, list(rng.uniform(2, 10, 300)) + [10.0] * 500),
    "caption_length_histograms": (
        plots.caption_length_histograms, {f: list(rng.poisson(8 + 3 * i, 200)) for i, f in enumerate(FACETS)}),
    "token_rank_plot": (plots.token_rank_plot, list((10_000 / np.arange(1, 2000)).astype(int) + 1)),
}
EMPTY = {"domain_distribution": {}, "duration_histogram": [], "caption_length_histograms": {}, "token_rank_plot": []}


@pytest.mark.parametrize("name", EXAMPLES)
def test_plot_is_markdown_png(name):
    function, data = EXAMPLES[name]
    markdown = function(data)
    assert MARKDOWN.fullmatch(markdown)
    png = plots.png_bytes(markdown)
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < 200_000


@pytest.mark.parametrize("name", EXAMPLES)
def test_plot_empty_input(name):
    markdown = EXAMPLES[name][0](EMPTY[name])
    assert MARKDOWN.fullmatch(markdown)
    assert plots.png_bytes(markdown).startswith(PNG_SIGNATURE)


def test_partially_empty_facets():
    markdown = plots.caption_length_histograms({"long": [10, 12], "speech": []})
    assert plots.png_bytes(markdown).startswith(PNG_SIGNATURE)
