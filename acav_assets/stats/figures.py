"""The figures people look at: routing confusion, curation funnel, acoustics per domain, LLM use
per shard and DATE per group beside the paper, each as Markdown with an embedded PNG (see
:mod:`acav_assets.stats.plots`), with the DuckDB queries that feed them.

Each figure has a plain-data summary (what the picture shows) computed apart from the drawing, so
the numbers can be checked; empty input draws a "no data" placeholder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import fsspec
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from acav_assets.contracts.domains import DOMAINS
from acav_assets.contracts.layout import DataLayout
from acav_assets.evaluation.table2 import TABLE2_COLUMNS, TABLE2_HEADERS, paper_rows
from acav_assets.stats import sql_runner
from acav_assets.stats.plots import FIGSIZE, figure_markdown, no_data

ACOUSTIC_MEASURES = {"loudness_lufs": "loudness (LUFS)", "snr_db": "SNR (dB)", "bandwidth_hz": "bandwidth (Hz)"}
# Box edges: whiskers at the 5th and 95th percentiles, box at the quartiles.
BOX_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
PAPER_SYSTEM = "ACAVCaps"  # the paper's row shown beside the scored systems
CAPTION_FAILED = "caption_failed"  # a curation drop reason the funnel shows as decoded -> captioned


def _domain_order(codes: Iterable[str]) -> list[str]:
    """Known domain codes in their canonical order, then any other code sorted."""
    codes = set(codes)
    return [d for d in DOMAINS if d in codes] + sorted(codes - set(DOMAINS))


# Routing confusion (recorded x routed domain)

def confusion_grid(counts: Mapping[tuple[str | None, str], int]) -> tuple[list[str], list[str], np.ndarray]:
    """Recorded domains (rows), routed domains (columns) and the clip counts between them, from
    ``(recorded, routed) -> clips``; pairs without a recorded domain and empty rows/columns are left out."""
    kept = {pair: int(n) for pair, n in counts.items() if pair[0] and n}
    rows = _domain_order(recorded for recorded, _ in kept)
    columns = _domain_order(routed for _, routed in kept)
    grid = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for (recorded, routed), n in kept.items():
        grid[rows.index(recorded), columns.index(routed)] += n
    return rows, columns, grid


def matrix_counts(matrix: Mapping[str, Mapping[str, int]]) -> dict[tuple[str, str], int]:
    """``(recorded, routed) -> clips`` from a nested ``matrix[recorded][routed]`` (routing.confusion_matrix)."""
    return {(recorded, routed): n for recorded, row in matrix.items() for routed, n in row.items() if n}


def routing_confusion(counts: Mapping[tuple[str | None, str], int], title: str = "Routing: recorded x routed") -> str:
    """Heatmap of clips per recorded (rows) and routed (columns) domain, each cell's count written in it."""
    rows, columns, grid = confusion_grid(counts)
    if grid.sum() == 0:
        return no_data(title)
    agreeing = sum(int(grid[i, columns.index(d)]) for i, d in enumerate(rows) if d in columns)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(columns) + 2.0), max(3.0, 0.45 * len(rows) + 1.5)))
    ax.imshow(grid, cmap="Blues", aspect="auto")
    for (i, j), n in np.ndenumerate(grid):
        ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=8,
                color="white" if n > grid.max() / 2 else "black")
    ax.set_xticks(range(len(columns)), columns, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("routed domain")
    ax.set_ylabel("recorded domain")
    ax.set_title(f"{title} (agree {agreeing:,} of {int(grid.sum()):,})", fontsize=9)
    return figure_markdown(fig, title)


# Curation funnel

def curation_funnel_steps(planned: int, decoded: int, captioned: int, drops: Mapping[str, int], released: int,
                          reason_order: Sequence[str] = ()) -> list[tuple[str, int]]:
    """``(step, clips left)`` from planned clips to released ones: decoded, captioned, then after
    each curation drop reason (in ``reason_order``, others after, sorted) and released (the curated
    clips less domain 000 and corpus duplicates). ``caption_failed`` drops are the captioned step."""
    reasons = [r for r in reason_order if drops.get(r)] + sorted(set(drops) - set(reason_order))
    steps = [("clips", planned), ("decoded", decoded), ("captioned", captioned)]
    left = captioned
    for reason in reasons:
        if reason != CAPTION_FAILED and drops[reason]:
            left -= drops[reason]
            steps.append((f"- {reason}", left))
    return [*steps, ("released", released)]


def curation_funnel(steps: Sequence[tuple[str, int]], title: str = "Curation funnel") -> str:
    """Horizontal bars of the clips left after each step, top to bottom, with what each step removed."""
    if not steps or steps[0][1] == 0:
        return no_data(title)
    labels = [label for label, _ in steps]
    values = [n for _, n in steps]
    fig, ax = plt.subplots(figsize=(FIGSIZE[0], max(2.5, 0.35 * len(steps) + 1.0)))
    colours = ["tab:orange" if label.startswith("- ") else "tab:blue" for label in labels]
    ax.barh(range(len(steps)), values, color=colours)
    for i, n in enumerate(values):
        removed = values[i - 1] - n if i else 0
        ax.text(n, i, f" {n:,}" + (f"  (-{removed:,})" if removed > 0 else ""), va="center", fontsize=8)
    ax.set_yticks(range(len(steps)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.3)
    ax.set_xlabel("clips")
    ax.set_title(title)
    return figure_markdown(fig, title)


# Acoustics per routed domain

@dataclass(frozen=True)
class BoxStats:
    """One box: how many values, and the values at BOX_QUANTILES."""

    n: int
    quantiles: tuple[float, ...]


def box_stats(values: Iterable[float | None]) -> BoxStats | None:
    """The box of ``values`` (missing and non-finite ones left out), None when none is left."""
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return None
    return BoxStats(int(finite.size), tuple(float(q) for q in np.quantile(finite, BOX_QUANTILES)))


def acoustics_by_domain(boxes: Mapping[str, Mapping[str, BoxStats | None]],
                        title: str = "Acoustics per routed domain") -> str:
    """One panel per measure (``boxes[measure][domain]``), a box per routed domain: quartiles,
    median and whiskers at the 5th and 95th percentiles."""
    measures = [m for m, by_domain in boxes.items() if any(by_domain.values())]
    if not measures:
        return no_data(title)
    fig, axes = plt.subplots(1, len(measures), figsize=(max(FIGSIZE[0], 3.0 * len(measures)), FIGSIZE[1]),
                             squeeze=False)
    for ax, measure in zip(axes[0], measures):
        domains = _domain_order(d for d, box in boxes[measure].items() if box)
        ax.bxp([{"label": d, "whislo": b.quantiles[0], "q1": b.quantiles[1], "med": b.quantiles[2],
                 "q3": b.quantiles[3], "whishi": b.quantiles[4]} for d in domains for b in [boxes[measure][d]]],
               showfliers=False)
        ax.set_title(ACOUSTIC_MEASURES.get(measure, measure), fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=90)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{title} (whiskers 5-95 %)", fontsize=10)
    return figure_markdown(fig, title)


# LLM use per shard

@dataclass(frozen=True)
class ShardLlmUse:
    shard: str
    clips: int
    prompt_tokens: int
    completion_tokens: int
    failed: int


def llm_use_per_shard(shards: Sequence[ShardLlmUse], title: str = "LLM tokens and failures per shard") -> str:
    """Prompt and completion tokens per shard (bars side by side) over the clips whose caption failed."""
    if not shards:
        return no_data(title)
    x = np.arange(len(shards))
    fig, (tokens_ax, failed_ax) = plt.subplots(2, 1, figsize=FIGSIZE, sharex=True, height_ratios=(2, 1))
    tokens_ax.bar(x - 0.2, [s.prompt_tokens for s in shards], 0.4, label="prompt", color="tab:blue")
    tokens_ax.bar(x + 0.2, [s.completion_tokens for s in shards], 0.4, label="completion", color="tab:green")
    tokens_ax.set_ylabel("tokens", fontsize=8)
    tokens_ax.legend(fontsize=7)
    failed_ax.bar(x, [s.failed for s in shards], 0.6, color="tab:red")
    failed_ax.set_ylabel("failed clips", fontsize=8)
    failed_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(shards) <= 30:  # beyond that the names would overlap
        failed_ax.set_xticks(x, [s.shard for s in shards], rotation=90, fontsize=7)
    else:
        failed_ax.set_xlabel(f"{len(shards):,} shards")
    for ax in (tokens_ax, failed_ax):
        ax.tick_params(axis="y", labelsize=7)
    total = sum(s.prompt_tokens + s.completion_tokens for s in shards)
    tokens_ax.set_title(f"{title} ({total:,} tokens, {sum(s.failed for s in shards):,} failed)", fontsize=9)
    return figure_markdown(fig, title)


# DATE per group beside the paper

def date_series(systems: Mapping[str, Mapping[str, float | None]],
                paper_system: str = PAPER_SYSTEM) -> dict[str, list[float | None]]:
    """Each bar series over TABLE2_COLUMNS: the paper's ``paper_system`` row, then each scored system."""
    paper = paper_rows()[paper_system]
    series = {f"{paper_system} (paper)": [paper[c] for c in TABLE2_COLUMNS]}
    series.update({name: [systems[name].get(c) for c in TABLE2_COLUMNS] for name in sorted(systems)})
    return series


def date_by_group(systems: Mapping[str, Mapping[str, float | None]], paper_system: str = PAPER_SYSTEM,
                  title: str = "MECAT-Caption DATE per group") -> str:
    """Grouped bars, one group per DATE column and the score, one bar per scored system beside the
    paper's ``paper_system``; a group a system was not scored on has no bar."""
    if not systems:
        return no_data(title)
    series = date_series(systems, paper_system)
    width = 0.8 / len(series)
    x = np.arange(len(TABLE2_COLUMNS))
    fig, ax = plt.subplots(figsize=(FIGSIZE[0] + 2.0, FIGSIZE[1]))
    for i, (name, values) in enumerate(series.items()):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x - 0.4 + width * (i + 0.5), heights, width, label=name,
               color="lightgrey" if i == 0 else None, edgecolor="grey" if i == 0 else None)
    ax.set_xticks(x, TABLE2_HEADERS, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("DATE x100")
    ax.legend(fontsize=7, ncols=min(3, len(series)))
    ax.set_title(title)
    return figure_markdown(fig, title)


# From the warehouse (DuckDB) and the Parquet assets

ROUTING_PAIRS_SQL = ("SELECT r.recorded_domain AS recorded, r.domain AS routed, count(*) AS clips "
                     "FROM routing AS r JOIN clips AS c USING (key) "
                     "WHERE r.status = 'ok' AND r.recorded_domain IS NOT NULL GROUP BY ALL")
FUNNEL_SQL = "SELECT clips_planned, samples, released_samples FROM dataset_stats"
CAPTIONED_SQL = "SELECT count(*) FILTER (WHERE status = 'ok') AS captioned FROM read_parquet(?, union_by_name = true)"
DROPS_SQL = "SELECT reason, count(*) AS clips FROM read_parquet(?, union_by_name = true) GROUP BY reason"
LLM_USE_SQL = ("SELECT shard, count(*) AS clips, coalesce(sum(prompt_tokens), 0) AS prompt_tokens, "
               "coalesce(sum(completion_tokens), 0) AS completion_tokens, "
               "count(*) FILTER (WHERE status <> 'ok') AS failed "
               "FROM read_parquet(?, union_by_name = true) GROUP BY shard ORDER BY shard")


def _acoustics_sql() -> str:
    quantiles = ", ".join(str(q) for q in BOX_QUANTILES)
    columns = ", ".join(f"count(a.{m}) AS {m}_n, quantile_cont(a.{m}, [{quantiles}]) AS {m}_q"
                        for m in ACOUSTIC_MEASURES)
    return (f"SELECT r.domain, {columns} FROM routing AS r JOIN acoustics AS a USING (key) "
            "WHERE r.status = 'ok' AND a.status = 'ok' GROUP BY r.domain ORDER BY r.domain")


def _parquet_rows(glob: str, sql: str) -> list[dict]:
    """``sql`` over the Parquet files matching ``glob`` (its one ``?``); none when no file exists yet."""
    fs, path = fsspec.core.url_to_fs(glob)
    if not fs.glob(path):
        return []
    with duckdb.connect() as con:
        result = con.execute(sql, [glob])
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def routing_pairs(database: str) -> dict[tuple[str, str], int]:
    """Decoded, routed clips per (recorded domain, routed domain)."""
    rows = sql_runner.query(database, ROUTING_PAIRS_SQL).to_pylist()
    return {(r["recorded"], r["routed"]): r["clips"] for r in rows}


def funnel_steps(database: str, layout: DataLayout) -> list[tuple[str, int]]:
    """The curation funnel of the whole dataset: dataset_stats' counts, the captions and curation_drops Parquet."""
    # Imported here, not at the top: the filters module loads torch.
    from acav_assets.curation.filters import REASONS

    stats = sql_runner.query(database, FUNNEL_SQL).to_pylist()
    if not stats:
        return []
    captioned = _parquet_rows(layout.glob("captions"), CAPTIONED_SQL)
    drops = {r["reason"]: r["clips"] for r in _parquet_rows(layout.glob("curation_drops"), DROPS_SQL)}
    return curation_funnel_steps(stats[0]["clips_planned"], stats[0]["samples"],
                                 captioned[0]["captioned"] if captioned else 0, drops,
                                 stats[0]["released_samples"], REASONS)


def acoustic_boxes(database: str) -> dict[str, dict[str, BoxStats | None]]:
    """``boxes[measure][routed domain]`` over the clips with both acoustics and a routed domain."""
    boxes: dict[str, dict[str, BoxStats | None]] = {m: {} for m in ACOUSTIC_MEASURES}
    for row in sql_runner.query(database, _acoustics_sql()).to_pylist():
        for measure in ACOUSTIC_MEASURES:
            quantiles = row[f"{measure}_q"]
            boxes[measure][row["domain"]] = (BoxStats(row[f"{measure}_n"], tuple(quantiles))
                                             if row[f"{measure}_n"] and quantiles else None)
    return boxes


def llm_use(layout: DataLayout) -> list[ShardLlmUse]:
    """Clips, prompt and completion tokens and failed captions of every shard, from the captions Parquet."""
    return [ShardLlmUse(**row) for row in _parquet_rows(layout.glob("captions"), LLM_USE_SQL)]


def dataset_figures(database: str, layout: DataLayout) -> dict[str, str]:
    """The statistics asset's figures, by metadata name."""
    return {
        "routing_confusion": routing_confusion(routing_pairs(database)),
        "curation_funnel": curation_funnel(funnel_steps(database, layout)),
        "acoustics_by_domain": acoustics_by_domain(acoustic_boxes(database)),
        "llm_use_per_shard": llm_use_per_shard(llm_use(layout)),
    }
