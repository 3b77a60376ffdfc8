"""Curation audit: what curation drops on a labelled corpus, and which evidence-consistency drops are false.

Runs on a data root materialised from a manifest with a recorded ``domain`` column (the real
corpus of :mod:`acav_assets.evaluation.real_corpus`, whose ``components`` JSON lists each part's
role, or any labelled manifest). It curates the stored captions again with the filters of this
checkout (:func:`acav_assets.curation.shard_curation.curate_shard`, default settings, the
packaged MiniLM, the clips' PCM checksums, ``$ACAV_DECONTAMINATION_LIST``), so that a filter
change is measured on the same captions without materialising again, and reports per recorded
domain: clips, kept, drops by reason, and false evidence-consistency drops.

Definitions:

* The *labelled parts* of a clip are the letters of its recorded ``domain`` (S speech, M music,
  A other sound; ``000`` none). Where the manifest has ``components``, their roles (``speech``,
  ``music``, ``sound``; ``silence`` and ``noise`` are no part) must give the same letters; a clip
  where they do not is reported as a label conflict and judged by its ``domain``.
* The *stated parts* of a caption are the letters of its caption row's ``domain``: its speech,
  music and sound facets describe exactly those parts (curation's domain-consistency check,
  which runs first, drops any row where they differ).
* An ``evidence_inconsistent`` drop is **false** when the caption is right about what it
  states: every stated part is labelled present, and a caption stating no part (``000``, "no
  speech, music or other sounds") is of a clip labelled ``000``. Otherwise it is *true*: the
  caption states a part the clip does not have, or says there is nothing when there is.
  Corpus labels are parts, not sound names, so a caption right about the parts but naming the
  wrong source ("rain" for an explosion) still counts as right here.
* The *false-drop rate* is false drops over the clips the evidence-consistency check saw (those
  no earlier reason dropped).
* Its counterpart, "kept, stating an absent part", counts kept captions that a true drop would
  have removed (by the same rule), so that a more lenient filter shows what it lets through.

It also checks two other promises of curation on the same run: no clip labelled ``000`` is
dropped as a (near-)duplicate (separate silent recordings are not copies, even where their PCM is
identical digital silence), and every count of the release agrees
(:func:`acav_assets.stats.warehouse.release_counts`).

::

    python -m acav_assets.evaluation.curation_audit [DATA_ROOT] [--dataset-name acav] [--show 20]

It exits 1 when the release's counts disagree or cannot be read.

``DATA_ROOT`` defaults to ``$ACAV_DATA_ROOT``. The stored ``curation_drops`` (what the
materialised run dropped) are compared with the recomputation and any difference is listed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acav_assets.captions.schema import CONTENT_FACETS
from acav_assets.contracts.layout import DataLayout, normalise_root
from acav_assets.curation.filters import REASONS, TextEmbedder, evidence_text
from acav_assets.curation.shard_curation import curate_shard
from acav_assets.io import storage

EVIDENCE = "evidence_inconsistent"
ROLE_LETTERS = {"speech": "S", "music": "M", "sound": "A"}
PART_LETTERS = "SMA"
KEPT_CLIP = re.compile(r"(?: as | to )([^\s,]+)")  # the kept clip a (near-)duplicate drop names


def parts(domain: str) -> set[str]:
    """The parts a domain string marks present: ``"S0A"`` -> ``{"S", "A"}``."""
    return {letter for letter, position in zip(PART_LETTERS, range(3), strict=True)
            if len(domain) == 3 and domain[position] != "0"}


def component_parts(extra: str | None) -> set[str] | None:
    """The parts named by a plan row's ``components`` (in its ``extra`` JSON), or None without them."""
    try:
        components = json.loads(json.loads(extra or "{}").get("components") or "null")
    except (TypeError, ValueError):
        return None
    if not isinstance(components, list):
        return None
    return {ROLE_LETTERS[c["role"]] for c in components if isinstance(c, Mapping) and c.get("role") in ROLE_LETTERS}


def is_false_drop(stated_domain: str, labelled_domain: str) -> bool:
    """An evidence-consistency drop of a caption stating ``stated_domain`` on a clip labelled
    ``labelled_domain`` is false when the caption is right about what it states."""
    stated, labelled = parts(stated_domain), parts(labelled_domain)
    return stated <= labelled if stated else not labelled


@dataclass
class DomainAudit:
    clips: int = 0
    kept: int = 0
    drops: Counter = field(default_factory=Counter)
    checked: int = 0          # clips the evidence-consistency check saw
    false_drops: int = 0
    kept_wrong: int = 0       # kept captions stating a part the clip does not have (the filters' misses)

    @property
    def false_rate(self) -> float | None:
        return self.false_drops / self.checked if self.checked else None


@dataclass
class Audit:
    by_domain: dict[str, DomainAudit]
    evidence_drops: list[dict]        # each evidence-consistency drop with its caption and verdict
    label_conflicts: list[str]        # keys whose components disagree with their domain
    unlabelled: int                   # captioned clips without a recorded domain (not counted)
    stored_differences: list[str]     # keys dropped differently by the stored run
    silent_duplicates: list[dict]     # (near-)duplicate drops of clips labelled 000

    @property
    def total(self) -> DomainAudit:
        out = DomainAudit()
        for d in self.by_domain.values():
            out.clips += d.clips
            out.kept += d.kept
            out.drops.update(d.drops)
            out.checked += d.checked
            out.false_drops += d.false_drops
            out.kept_wrong += d.kept_wrong
        return out


def _earlier(reason: str) -> bool:
    return REASONS.index(reason) < REASONS.index(EVIDENCE)


def audit_shards(layout: DataLayout, embedder: TextEmbedder, decontamination_list: str = "") -> Audit:
    """Curate every shard of ``layout`` again and judge its drops against the recorded labels."""
    by_domain: dict[str, DomainAudit] = {}
    evidence_drops, conflicts, differences, silent_duplicates = [], [], [], []
    unlabelled = 0
    for shard in storage.list_partitions(layout.root, "captions"):
        captions = storage.read_table(layout.table("captions", shard)).to_pylist()
        evidence = storage.read_table(layout.table("evidence", shard)).to_pylist()
        clips = storage.read_table(layout.table("clips", shard)).select(["key", "checksum"]).to_pylist()
        plans = {r["key"]: r for r in storage.read_table(layout.shard_plan(shard)).select(["key", "domain", "extra"])
                 .to_pylist()}
        _, drops, _ = curate_shard(captions, evidence, embedder, decontamination_list, clips=clips)
        dropped = {d["key"]: d for d in drops.to_pylist()}
        stored_url = layout.table("curation_drops", shard)
        if storage.exists(stored_url):
            stored = {d["key"]: d["reason"] for d in storage.read_table(stored_url).to_pylist()}
            differences += sorted(k for k in stored.keys() | dropped.keys()
                                  if stored.get(k) != (dropped.get(k) or {}).get("reason"))
        evidence_by_key = {r["key"]: r for r in evidence}
        checksums = {r["key"]: r.get("checksum") for r in clips}
        for row in captions:
            key = row["key"]
            labelled = (plans.get(key) or {}).get("domain")
            if not labelled:
                unlabelled += 1
                continue
            named = component_parts((plans.get(key) or {}).get("extra"))
            if named is not None and named != parts(labelled):
                conflicts.append(key)
            audit = by_domain.setdefault(labelled, DomainAudit())
            audit.clips += 1
            drop = dropped.get(key)
            if drop is None:
                audit.kept += 1
                audit.checked += 1
                audit.kept_wrong += not is_false_drop(str(row.get("domain") or ""), labelled)
                continue
            audit.drops[drop["reason"]] += 1
            if not _earlier(drop["reason"]):
                audit.checked += 1
            if drop["reason"] == EVIDENCE:
                false = is_false_drop(str(row.get("domain") or ""), labelled)
                audit.false_drops += false
                evidence_drops.append({"key": key, "labelled": labelled, "stated": row.get("domain"), "false": false,
                                       "caption": (row.get("long") or [""])[0],
                                       "evidence": evidence_text(evidence_by_key.get(key) or {}),
                                       "detail": drop.get("detail")})
            if drop["reason"] in ("duplicate", "near_duplicate") and labelled == "000":
                match = KEPT_CLIP.search(str(drop.get("detail") or ""))
                other = match.group(1) if match else None
                silent_duplicates.append({"key": key, "reason": drop["reason"], "of": other,
                                          "same_audio": checksums.get(key) is not None
                                          and checksums.get(key) == checksums.get(other)})
    return Audit(dict(sorted(by_domain.items())), evidence_drops, conflicts, unlabelled, differences, silent_duplicates)


def _rate(numerator: int, denominator: int) -> str:
    return f"{numerator}/{denominator} ({numerator / denominator:.1%})" if denominator else "-"


def format_audit(audit: Audit, show: int = 20) -> str:
    """The per-domain table, then the evidence-consistency drops and the other checks."""
    reasons = [r for r in REASONS if any(d.drops.get(r) for d in audit.by_domain.values())]
    head = ["domain", "clips", "kept", "kept, stating an absent part", *reasons, "evidence checked",
            "false evidence drops"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, d in [*audit.by_domain.items(), ("all", audit.total)]:
        cells = [name, str(d.clips), str(d.kept), str(d.kept_wrong), *(str(d.drops.get(r, 0)) for r in reasons),
                 str(d.checked),
                 _rate(d.false_drops, d.checked)]
        lines.append("| " + " | ".join(cells) + " |")
    total = audit.total
    lines += ["", f"evidence-consistency drops: {total.drops.get(EVIDENCE, 0)}, of them false: {total.false_drops}"
              f" (false-drop rate {_rate(total.false_drops, total.checked)})"]
    for d in audit.evidence_drops[:show]:
        lines.append(f"- {'FALSE' if d['false'] else 'true '} {d['key']} labelled {d['labelled']}, states "
                     f"{d['stated']}: {d['caption']!r} | evidence: {d['evidence'][:120]!r}")
    if len(audit.evidence_drops) > show:
        lines.append(f"- ... {len(audit.evidence_drops) - show} more")
    different = [d for d in audit.silent_duplicates if not d["same_audio"]]
    lines.append(f"clips labelled 000 dropped as (near-)duplicates: {len(audit.silent_duplicates)}, "
                 f"of them with audio different from the clip kept: {len(different)}")
    lines += [f"- {d['key']}: {d['reason']} of {d['of']} ({'same' if d['same_audio'] else 'different'} audio)"
              for d in audit.silent_duplicates[:show]]
    if audit.label_conflicts:
        lines.append(f"clips whose components disagree with their domain: {', '.join(audit.label_conflicts[:show])}")
    if audit.unlabelled:
        lines.append(f"captioned clips without a recorded domain (not counted): {audit.unlabelled}")
    lines.append("stored curation_drops agree with the recomputation" if not audit.stored_differences else
                 f"stored curation_drops differ on {len(audit.stored_differences)} clips: "
                 f"{', '.join(audit.stored_differences[:show])}")
    return "\n".join(lines)


def release_report(layout: DataLayout, dataset_name: str, database: str | None) -> tuple[dict, list[str]]:
    """Every place's count of released clips and the places that disagree."""
    from acav_assets.stats.warehouse import count_problems, release_counts

    has_database = database is not None and os.path.exists(database)
    counts = release_counts(layout, dataset_name, database if has_database else None,
                            files=layout.is_local)
    return counts, count_problems(counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root", nargs="?", default=os.environ.get("ACAV_DATA_ROOT", "acav_data"))
    parser.add_argument("--dataset-name", default=os.environ.get("ACAV_DATASET_NAME", "acav"),
                        help="the dataset's row in Table 1")
    parser.add_argument("--show", type=int, default=20, help="list at most this many clips per finding")
    args = parser.parse_args(argv)
    layout = DataLayout(normalise_root(args.data_root))
    if not storage.list_partitions(layout.root, "captions"):
        parser.error(f"no captions in {layout.root}: materialise it first")
    from acav_assets.curation.filters import packaged_minilm

    audit = audit_shards(layout, packaged_minilm(), os.environ.get("ACAV_DECONTAMINATION_LIST", ""))
    print(format_audit(audit, args.show))
    database = os.environ.get("ACAV_DUCKDB_PATH") or layout.warehouse()
    try:
        counts, problems = release_report(layout, args.dataset_name, database)
    except Exception as exc:  # the audit above stands without the release
        print(f"release counts: could not be read ({type(exc).__name__}: {exc})")
        return 1
    shown = ", ".join(f"{place} {n}" for place, n in counts.items() if n is not None)
    print(f"release counts: {shown}; " + ("all agree" if not problems else "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
