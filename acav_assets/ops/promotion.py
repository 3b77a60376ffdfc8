"""Stage, check, promote: a partition's new output replaces the live one only when it is good.

The new table (and any companion file, such as a shard's audio tar) is written to
``{asset}/_staged/``. It is promoted (renamed over the live file, companions first, the Parquet
last because freshness reads it) only when

* its blocking checks pass (the same suite the asset check runs), and
* it is not *worse* than the live output: no clip whose row was ``ok`` in the live table is an
  error in the new one. Clips no longer planned do not count.

Otherwise the candidate moves to ``{asset}/_rejected/`` beside a JSON file with the reasons and
the clip keys, the live output stays, and :class:`PromotionRefused` fails the step. A refused
partition stays due (``ops.shard_freshness`` reads the rejection's time) until a run promotes.

What "worse" means per asset: ``clips`` - a clip decoded before is now an error (source lost,
decoder regression); each expert - a clip it analysed before now fails; ``captions`` - a clip
captioned before is now an error (a new fault; an outage fails the step before this): there the
previous caption is kept for that clip (:func:`keep_previous_rows`), so one clip's bad reply never
holds back the shard's new captions. Tables without a ``status``
column (``evidence``, ``curated_captions``) are held by their checks alone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from acav_assets.contracts.domains import STATUS_OK
from acav_assets.contracts.failures import PromotionRefused
from acav_assets.contracts.layout import REJECTED, STAGED, beside
from acav_assets.io import storage
from acav_assets.quality.suites import QualityReport

logger = logging.getLogger(__name__)

KEYS_SHOWN = 20


def staged(url: str) -> str:
    """Where a new output waits for its checks."""
    return beside(url, STAGED)


def rejected(url: str) -> str:
    """Where a refused output is kept for inspection."""
    return beside(url, REJECTED)


def rejection_note(url: str) -> str:
    """The JSON file that says why the output at ``url`` was last refused."""
    return rejected(url).rsplit(".", 1)[0] + ".json"


def lost_clips(live: pa.Table | None, candidate: pa.Table) -> list[str]:
    """Keys that are ``ok`` in ``live`` and present but not ``ok`` in ``candidate``."""
    if live is None or "status" not in live.column_names or "status" not in candidate.column_names:
        return []
    was_ok = {k for k, s in zip(live["key"].to_pylist(), live["status"].to_pylist()) if s == STATUS_OK}
    return [k for k, s in zip(candidate["key"].to_pylist(), candidate["status"].to_pylist())
            if k in was_ok and s != STATUS_OK]


def keep_previous_rows(candidate: pa.Table, url: str, log: logging.Logger = logger) -> pa.Table:
    """``candidate`` with the live row put back for every clip it would lose (ok before, an error
    now): for outputs where an older good row stays true, such as a caption whose new request
    failed. The new failures are logged; the clips stay captioned."""
    live = storage.read_table(url) if storage.exists(url) else None
    lost = set(lost_clips(live, candidate))
    if not lost:
        return candidate
    log.warning("kept the previous row of %d clip(s) whose new attempt failed: %s", len(lost), _listed(sorted(lost)))
    is_lost = pc.is_in(candidate["key"], pa.array(sorted(lost)))
    previous = {row["key"]: row for row in live.filter(pc.is_in(live["key"], pa.array(sorted(lost)))).to_pylist()}
    rows = [previous[row["key"]] if lost_row else row for row, lost_row in zip(candidate.to_pylist(), is_lost.to_pylist())]
    return pa.Table.from_pylist(rows, schema=candidate.schema)


def _listed(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:KEYS_SHOWN])
    return shown + (f" and {len(keys) - KEYS_SHOWN} more" if len(keys) > KEYS_SHOWN else "")


def promote(
    table: pa.Table,
    url: str,
    report: QualityReport | None = None,
    companions: Sequence[str] = (),
    what: str = "output",
    log: logging.Logger = logger,
) -> None:
    """Write ``table`` for ``url`` through the staging folder and promote it if it is good.

    ``companions`` are live URLs whose new versions the caller already wrote at ``staged(url)``;
    they are promoted or rejected with the table. Raises :class:`PromotionRefused` with the
    reasons and clip keys when the candidate is refused; the live files are then untouched.
    """
    storage.write_table(table, staged(url))
    live = storage.read_table(url) if storage.exists(url) else None
    reasons: list[str] = []
    keys: list[str] = []
    if report is not None and not report.success:
        reasons.append(f"its blocking checks failed: {report.describe()}")
        keys += sorted({k for failure in report.failures for k in failure.offending_keys})
    lost = lost_clips(live, table)
    if lost:
        reasons.append(f"{len(lost)} clip(s) that were ok in the live output would become errors: {_listed(lost)}")
        keys += lost
    if reasons:
        for file in (*companions, url):
            if storage.exists(staged(file)):
                storage.move(staged(file), rejected(file))
        note = {"refused_at": time.time(), "what": what, "reasons": reasons, "clips": sorted(set(keys))}
        storage.write_text(json.dumps(note, indent=1), rejection_note(url))
        raise PromotionRefused(
            f"{what} not promoted; the previous output stays live. " + " ".join(reasons)
            + f" The candidate is kept at {rejected(url)}.")
    for file in (*companions, url):
        storage.move(staged(file), file)
    storage.remove(rejection_note(url))
    log.info("%s promoted: %d rows", what, table.num_rows)
