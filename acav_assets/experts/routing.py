"""Route each clip to one of the 8 ACAVCaps domains from its AudioSet window scores.

A domain is three letters, speech / music / other sound, with ``0`` for an absent part:
``000 00A 0M0 0MA S00 S0A SM0 SMA``. Content is decided per 2 s window from the ontology
subtrees: the highest score among the Speech classes (S), among the Music classes and singing
(M), and among every other sound class except silence and the "channel, environment and
background" classes, which describe the recording rather than a source (A). A part is present
when its score passes its threshold in at least one window; its windows, merged, are the part's
time segments. A clip the acoustics expert found silent is ``000``: routing takes its
``is_silent`` flag (:func:`acav_assets.experts.acoustics.is_silent`, DC offset removed) rather
than a rule of its own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import fsspec
import numpy as np
import pyarrow as pa

from acav_assets.contracts.domains import (
    DOMAINS,
    PARTS,
    STATUS_ERROR,
    STATUS_OK,
    domain_code,
)
from acav_assets.experts.spec import (
    TAGGED,
    ExpertOutput,
    ExpertSpec,
    ShardInputs,
    ok_rows,
)
from acav_assets.experts.tagging.audioset_ontology import (
    CHANNEL_ENVIRONMENT_BACKGROUND,
    MUSIC,
    SILENCE,
    SPEECH,
    Ontology,
    load_ontology,
)
from acav_assets.experts.tagging.tag_table import label_mids_of
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io.markdown import Markdown


@dataclass(frozen=True)
class RoutingThresholds:
    """Per-part score thresholds (tagger probabilities in [0, 1]). Speech uses 0.5 because
    YAMNet gives Speech 0.1-0.3 to singing and crowds; music and other sound use 0.3. With the
    lite tagger they route 23 of the 24 demo clips as recorded (scripts/check_demo_routing.py); recalibrate
    them for another tagger (``acav-assets calibrate``, ACAV_ROUTING_THRESHOLDS_FILE, or ACAV_*_THRESHOLD)."""

    speech: float = 0.5
    music: float = 0.3
    sound: float = 0.3
    min_windows: int = 1  # windows a part must pass in to be present

    @classmethod
    def from_file(cls, path: str) -> RoutingThresholds:
        """The ``routing_thresholds`` object of a JSON thresholds file (as ``acav-assets calibrate``
        writes it); ValueError naming the file and the field when it is malformed."""
        with fsspec.open(path, "r", encoding="utf-8") as handle:
            try:
                document = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"routing thresholds file {path}: not JSON ({error})") from None
        values = document.get("routing_thresholds") if isinstance(document, dict) else None
        if not isinstance(values, dict):
            raise ValueError(f"routing thresholds file {path}: no 'routing_thresholds' object")
        expected = ("speech", "music", "sound", "min_windows")
        problems = [f"unknown field {name!r}" for name in values if name not in expected]
        problems += [f"missing {name!r}" for name in expected if name not in values]
        for part in PARTS:
            value = values.get(part, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                problems.append(f"{part} is {value!r}, not a number in [0, 1]")
        windows = values.get("min_windows", 1)
        if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
            problems.append(f"min_windows is {windows!r}, not an integer >= 1")
        if problems:
            raise ValueError(f"routing thresholds file {path}: " + "; ".join(problems))
        return cls(float(values["speech"]), float(values["music"]), float(values["sound"]), values["min_windows"])


@dataclass(frozen=True)
class ContentGroups:
    """Column indices of the tagger's labels that count as speech, music and other sound."""

    speech: np.ndarray
    music: np.ndarray
    sound: np.ndarray

    @classmethod
    def from_labels(cls, label_mids: Sequence[str], ontology: Ontology) -> ContentGroups:
        speech = ontology.descendants(SPEECH)
        music = ontology.descendants(MUSIC) | ontology.descendants(ontology.mid("Singing"))
        not_a_source = ontology.descendants(SILENCE) | ontology.descendants(CHANNEL_ENVIRONMENT_BACKGROUND)
        index = {part: [] for part in PARTS}
        for i, mid in enumerate(label_mids):
            if mid in speech:
                index["speech"].append(i)
            elif mid in music:
                index["music"].append(i)
            elif mid not in not_a_source:
                index["sound"].append(i)
        return cls(**{part: np.asarray(ix, dtype=np.int64) for part, ix in index.items()})


@dataclass(frozen=True)
class Route:
    domain: str
    scores: dict[str, float]  # the part's highest window score
    segments: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def part_scores(window_scores: np.ndarray, groups: ContentGroups) -> dict[str, np.ndarray]:
    """Per window, the highest score within each part: {part: [W]}."""
    scores = np.asarray(window_scores, dtype=np.float32)
    return {
        part: scores[:, getattr(groups, part)].max(axis=1) if len(getattr(groups, part)) else np.zeros(len(scores))
        for part in PARTS
    }


def merge_windows(active: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[tuple[float, float]]:
    """Runs of consecutive active windows as (start_s, end_s)."""
    segments: list[tuple[float, float]] = []
    for on, start, end in zip(active, starts, ends):
        if not on:
            continue
        if segments and abs(segments[-1][1] - start) < 1e-6:
            segments[-1] = (segments[-1][0], float(end))
        else:
            segments.append((float(start), float(end)))
    return segments


def route_clip(
    window_scores: np.ndarray,
    window_starts: np.ndarray,
    window_ends: np.ndarray,
    groups: ContentGroups,
    thresholds: RoutingThresholds = RoutingThresholds(),
    is_silent: bool = False,
) -> Route:
    """The clip's domain, its part scores and per-part time segments."""
    per_window = part_scores(window_scores, groups)
    limits = {"speech": thresholds.speech, "music": thresholds.music, "sound": thresholds.sound}
    segments, present = {}, {}
    for part in PARTS:
        active = per_window[part] >= limits[part]
        segments[part] = merge_windows(active, np.asarray(window_starts), np.asarray(window_ends))
        present[part] = not is_silent and int(active.sum()) >= thresholds.min_windows
    domain = domain_code(present["speech"], present["music"], present["sound"])
    scores = {part: float(per_window[part].max()) if len(per_window[part]) else 0.0 for part in PARTS}
    return Route(domain=domain, scores=scores, segments=segments)


def confusion_matrix(true: Sequence[str | None], predicted: Sequence[str]) -> tuple[dict[str, dict[str, int]], float | None]:
    """Counts[true][predicted] over the clips with a recorded domain, and the agreement rate."""
    matrix = {t: {p: 0 for p in DOMAINS} for t in DOMAINS}
    pairs = [(t, p) for t, p in zip(true, predicted) if t]
    for t, p in pairs:
        matrix[t][p] += 1
    agreement = sum(t == p for t, p in pairs) / len(pairs) if pairs else None
    return matrix, agreement


def confusion_markdown(matrix: dict[str, dict[str, int]]) -> str:
    """Rows: recorded domain; columns: routed domain (rows with no clips are left out)."""
    lines = ["| recorded \\ routed | " + " | ".join(DOMAINS) + " |", "|---|" + "---|" * len(DOMAINS)]
    for t in DOMAINS:
        if sum(matrix[t].values()):
            lines.append(f"| **{t}** | " + " | ".join(str(matrix[t][p]) or "" for p in DOMAINS) + " |")
    return "\n".join(lines)


_SEGMENTS = pa.list_(pa.list_(pa.float64(), 2))
ROUTING_FIELDS = [
    pa.field("domain", pa.string(), metadata={"description": "routed domain: speech/music/sound letters or 0"}),
    pa.field("speech_score", pa.float64(), metadata={"unit": "probability", "description": "best window, Speech subtree"}),
    pa.field("music_score", pa.float64(), metadata={"unit": "probability", "description": "best window, Music subtree and singing"}),
    pa.field("sound_score", pa.float64(), metadata={"unit": "probability", "description": "best window, other sound sources"}),
    pa.field("speech_segments", _SEGMENTS, metadata={"unit": "s", "description": "[start, end] where speech passes its threshold"}),
    pa.field("music_segments", _SEGMENTS, metadata={"unit": "s"}),
    pa.field("sound_segments", _SEGMENTS, metadata={"unit": "s"}),
    pa.field("recorded_domain", pa.string(), metadata={"description": "domain recorded in the manifest, if any"}),
    pa.field("is_silent", pa.bool_(), metadata={"description": "from the acoustics expert"}),
]


def route_row(tags: dict, groups: ContentGroups, thresholds: RoutingThresholds, is_silent: bool) -> dict:
    """The routing fields of one clip from its row of the tags table."""
    route = route_clip(
        np.asarray(tags["window_scores"], dtype=np.float32).reshape(len(tags["window_starts_s"]), -1),
        np.asarray(tags["window_starts_s"]), np.asarray(tags["window_ends_s"]), groups, thresholds, is_silent,
    )
    row = {"domain": route.domain, "is_silent": is_silent}
    for part in PARTS:
        row[f"{part}_score"] = route.scores[part]
        row[f"{part}_segments"] = [list(s) for s in route.segments[part]]
    return row


def thresholds_from(settings) -> RoutingThresholds:
    """The run's thresholds: the file ACAV_ROUTING_THRESHOLDS_FILE names, all four values from it,
    when set; otherwise ACAV_SPEECH_THRESHOLD, ACAV_MUSIC_THRESHOLD, ACAV_SOUND_THRESHOLD."""
    if settings.get("routing_thresholds_file"):
        return RoutingThresholds.from_file(settings["routing_thresholds_file"])
    defaults = RoutingThresholds()
    return RoutingThresholds(settings.get("speech_threshold", defaults.speech),
                             settings.get("music_threshold", defaults.music),
                             settings.get("sound_threshold", defaults.sound))


def routing_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Route every tagged clip; compare with the domains recorded in the manifest."""
    tags_table = inputs.read("tags")
    silent = {row["key"]: bool(row["is_silent"]) for row in ok_rows(inputs.read("acoustics"))}
    clips = inputs.read("clips", CLIPS_SCHEMA)
    recorded = dict(zip(clips["key"].to_pylist(), clips["domain"].to_pylist()))
    groups = ContentGroups.from_labels(label_mids_of(tags_table), load_ontology())
    thresholds = thresholds_from(inputs.settings)
    rows = []
    for row in tags_table.to_pylist():
        out = {"key": row["key"], "shard": inputs.shard, "recorded_domain": recorded.get(row["key"])}
        if row["status"] != STATUS_OK:
            out.update(status=STATUS_ERROR, error=f"no tags: {row['error']}")
        else:
            out.update(route_row(row, groups, thresholds, silent.get(row["key"], False)), status=STATUS_OK)
        rows.append(out)
    table = pa.Table.from_pylist(rows, schema=SPEC.schema)
    routed = [row for row in rows if row["status"] == STATUS_OK]
    matrix, agreement = confusion_matrix([r["recorded_domain"] for r in routed], [r["domain"] for r in routed])
    summary = {
        "domains": dict(sorted(Counter(r["domain"] for r in routed).items())),
        "thresholds": dict(thresholds.__dict__),
        "confusion_matrix": Markdown(confusion_markdown(matrix)),
    }
    if agreement is not None:
        summary["agreement_with_recorded_domain"] = agreement
        inputs.log.info("routing agrees with the recorded domain on %.1f %% of clips", 100 * agreement)
    return ExpertOutput(table, summary)


SPEC = ExpertSpec(
    name="routing",
    description="Each clip's domain (000 00A 0M0 0MA S00 S0A SM0 SMA) from the Speech, Music and other-sound "
    "subtrees of the AudioSet ontology, with per-part time segments. The metadata compares it with the domain "
    "recorded in the manifest.",
    fields=tuple(ROUTING_FIELDS), analyse=routing_of_shard, reads=("tags", "acoustics"), coverage=TAGGED,
    ranges={f"{part}_score": (0.0, 1.0) for part in PARTS}, value_sets={"domain": list(DOMAINS)},
    check="One row per tagged clip, a domain from the 8, part scores in [0, 1].",
)
