"""Route each clip to one of the 8 ACAVCaps domains from its AudioSet window scores.

A domain is three letters, speech / music / other sound, with ``0`` for an absent part:
``000 00A 0M0 0MA S00 S0A SM0 SMA``. Content is decided from the ontology subtrees: the highest
score among the Speech classes (S), among the Music classes and singing (M), and among every
other sound class except silence and the "channel, environment and background" classes, which
describe the recording rather than a source (A). A class with a music and a source parent (a
bell, a chime) is decided by what is around it (:func:`part_scores`): music where another music
class is sure of music, other sound elsewhere. Each part has a peak rule: present when its
score passes its threshold in at least ``min_windows`` 2 s windows; its windows, merged, are the
part's time segments. Two rules find what a peak misses in a mixture, from the tagger's scores
on short overlapping frames (``frame_scores``; the 2 s windows stand in when a tags table has none):

* other sound under a bed (:func:`event_strength`): a short event lifts its classes far above
  their level in the rest of the clip, even when the music or speech keeps their scores low; a
  frame counts when one sound class rises ``sound_event`` times its usual spread above its clip
  median (log-odds), ``sound_event_voiced`` in frames where speech passes :data:`SPEECH_GATE`.
  Human-sound classes (sighs, sobs, breathing) and alarms (dial tone, car alarm: tonal classes a
  synthetic or buzzy voice lifts) do not count in those: there they are the voice. Nor do
  source-ambiguous classes (ding, ping, buzz, thump) in frames with music: an instrument makes
  them too.
* music as a bed under a voice (:func:`frame_evidence`): music under speech scores low in every
  window but never goes away, while a musical-sounding effect spikes in one window; in a clip
  with a voiced frame, the music part is present when its mean log-odds over frames reaches
  ``music_bed``. Without a voice, music needs no bed rule: it peaks (and an effect's music-like
  sound does not last).

One rule keeps a peak from finding music that is not there (:func:`music_extent`): a tonal
effect (a whistle, a ringtone, a synthesised beep) can score as music in one window. Without a
voice, music that is there lasts, so in a clip with no voiced frame the music peak counts only
when at least ``music_extent`` of the frames pass :data:`MUSIC_GATE`. Under speech, a music bed
is masked in many frames, so a clip with a voiced frame is not held to it.

A clip the acoustics expert found silent is ``000``: routing takes its ``is_silent`` flag
(:func:`acav_assets.experts.acoustics.is_silent`, DC offset removed) rather than a rule of its own.
"""

from __future__ import annotations

import json
import math
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
    ANIMAL,
    CHANNEL_ENVIRONMENT_BACKGROUND,
    HUMAN_SOUNDS,
    MUSIC,
    NATURAL_SOUNDS,
    SILENCE,
    SOUNDS_OF_THINGS,
    SOURCE_AMBIGUOUS_SOUNDS,
    SPEECH,
    Ontology,
    load_ontology,
)
from acav_assets.experts.tagging.tag_table import label_mids_of
from acav_assets.experts.tagging.windows import FRAME_S
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io.markdown import Markdown


@dataclass(frozen=True)
class RoutingThresholds:
    """Per-part thresholds. ``speech``, ``music`` and ``sound`` are peak window scores (tagger
    probabilities in [0, 1]); ``music_bed`` is a mean log-odds of the music part over frames (in a
    clip with a voiced frame), ``sound_event`` / ``sound_event_voiced`` a rise of one sound class
    over its clip median in units of its spread, in unvoiced / voiced frames, and ``music_extent``
    the share of frames the music of a clip without a voice must last for its peak to count (see
    the module docstring); None switches that rule off. Recalibrate them for another tagger
    (``acav-assets calibrate``, ACAV_ROUTING_THRESHOLDS_FILE, or ACAV_*_THRESHOLD).

    The defaults were fitted with ``fit_thresholds`` (acav_assets.experts.routing_calibration,
    ``min_windows`` 1) on the ``calibration`` split of the real labelled corpus of issue 15 (88
    clips of Debian-packaged recordings and their mixtures; packaged YAMNet, float scores, frame
    scores on): exact accuracy 92.0 % there (60.2 % with the former 0.5 / 0.3 / 0.3 peaks alone),
    89.7 % cross-validated in 5 folds grouped by source; the ``heldout`` split was not used. Two
    values sit in ranges where the calibration clips tie and keep their starting values: the music
    extent (anything between 0.15, tonal effects, and 0.9, music without a voice) and the music
    bed (between -6.6, the highest speech clip without music, and -4.1). With the lite tagger the
    defaults route all 24 demo clips as recorded, with or without frame scores
    (scripts/check_demo_routing.py)."""

    speech: float = 0.5
    music: float = 0.34
    sound: float = 0.19
    min_windows: int = 1  # windows a part's peak must pass in
    music_bed: float | None = -5.0  # mean log-odds of the music part over the frames of a clip with a voice
    music_extent: float | None = 0.5  # without a voice, the share of frames music must last for its peak to count
    sound_event: float | None = 11.2  # event strength (robust z of a sound class) in an unvoiced frame
    sound_event_voiced: float | None = 11.7  # and in a voiced frame

    @classmethod
    def from_file(cls, path: str) -> RoutingThresholds:
        """The ``routing_thresholds`` object of a JSON thresholds file (as ``acav-assets calibrate``
        writes it); ValueError naming the file and the field when it is malformed. The frame rules
        (``music_bed``, ``sound_event``, ``sound_event_voiced``) and ``music_extent`` may be left
        out (their defaults) or null (rule off)."""
        with fsspec.open(path, "r", encoding="utf-8") as handle:
            try:
                document = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"routing thresholds file {path}: not JSON ({error})") from None
        values = document.get("routing_thresholds") if isinstance(document, dict) else None
        if not isinstance(values, dict):
            raise ValueError(f"routing thresholds file {path}: no 'routing_thresholds' object")
        expected, optional = ("speech", "music", "sound", "min_windows"), (*FRAME_RULES, *GATES)
        problems = [f"unknown field {name!r}" for name in values if name not in expected + optional]
        problems += [f"missing {name!r}" for name in expected if name not in values]
        for part in PARTS:
            value = values.get(part, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                problems.append(f"{part} is {value!r}, not a number in [0, 1]")
        for name in optional:
            value = values.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                problems.append(f"{name} is {value!r}, not a number or null")
            elif name in GATES and value is not None and not 0.0 <= value <= 1.0:
                problems.append(f"{name} is {value!r}, not a share in [0, 1] or null")
        windows = values.get("min_windows", 1)
        if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
            problems.append(f"min_windows is {windows!r}, not an integer >= 1")
        if problems:
            raise ValueError(f"routing thresholds file {path}: " + "; ".join(problems))
        extra = {name: None if values[name] is None else float(values[name]) for name in optional if name in values}
        return cls(float(values["speech"]), float(values["music"]), float(values["sound"]), values["min_windows"],
                   **extra)


@dataclass(frozen=True)
class ContentGroups:
    """Column indices of the tagger's labels that count as speech, music and other sound, and
    subsets of them: other-sound columns a voice can raise (``human`` sounds; ``tonal`` alarms and
    signals such as dial tone or car alarm, which a synthetic or buzzy voice lifts), ``ambiguous``
    source-ambiguous ones (ding, buzz, thump: an instrument makes them too), and ``dual`` music
    columns that are also sounds of things, animals or nature (bells, chimes; see :func:`part_scores`)."""

    speech: np.ndarray
    music: np.ndarray
    sound: np.ndarray
    human: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tonal: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ambiguous: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dual: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def from_labels(cls, label_mids: Sequence[str], ontology: Ontology) -> ContentGroups:
        speech = ontology.descendants(SPEECH)
        music = ontology.descendants(MUSIC) | ontology.descendants(ontology.mid("Singing"))
        not_a_source = ontology.descendants(SILENCE) | ontology.descendants(CHANNEL_ENVIRONMENT_BACKGROUND)
        human = ontology.descendants(HUMAN_SOUNDS)
        tonal = ontology.descendants(ontology.mid("Alarm"))
        ambiguous = ontology.descendants(SOURCE_AMBIGUOUS_SOUNDS)
        sources = (ontology.descendants(SOUNDS_OF_THINGS) | ontology.descendants(ANIMAL)
                   | ontology.descendants(NATURAL_SOUNDS))
        index = {part: [] for part in (*PARTS, "human", "tonal", "ambiguous", "dual")}
        for i, mid in enumerate(label_mids):
            if mid in speech:
                index["speech"].append(i)
            elif mid in music:
                index["music"].append(i)
                if mid in sources:
                    index["dual"].append(i)
            elif mid not in not_a_source:
                index["sound"].append(i)
                if mid in human:
                    index["human"].append(i)
                if mid in tonal:
                    index["tonal"].append(i)
                if mid in ambiguous:
                    index["ambiguous"].append(i)
        return cls(**{part: np.asarray(ix, dtype=np.int64) for part, ix in index.items()})


@dataclass(frozen=True)
class Route:
    domain: str
    scores: dict[str, float]  # the part's highest window score
    segments: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


SPEECH_GATE = 0.5  # a frame whose speech part passes this is voiced: human-sound classes there are the voice
MUSIC_GATE = 0.5  # a frame whose music part passes this has music in it (music_extent, event_strength, bells)


def part_scores(window_scores: np.ndarray, groups: ContentGroups) -> dict[str, np.ndarray]:
    """Per window, the highest score within each part: {part: [W]}. A class with a music and a
    source parent (a bell) counts for music in windows where another music class passes
    MUSIC_GATE, and for other sound elsewhere: among music it is an instrument, alone a bell."""
    scores = np.asarray(window_scores, dtype=np.float32)
    parts = {
        part: scores[:, getattr(groups, part)].max(axis=1) if len(getattr(groups, part)) else np.zeros(len(scores))
        for part in PARTS
    }
    if len(groups.dual):
        plain_music = np.setdiff1d(groups.music, groups.dual)
        plain = scores[:, plain_music].max(axis=1) if len(plain_music) else np.zeros(len(scores))
        alone = plain < MUSIC_GATE
        parts["music"] = np.where(alone, plain, parts["music"])
        parts["sound"] = np.where(alone, np.maximum(parts["sound"], scores[:, groups.dual].max(axis=1)), parts["sound"])
    return parts


_MIN_FRAMES = 3  # fewer frames give no clip median to rise above: no event evidence
_SPREAD_FLOOR = 1.0  # log-odds added to a class's spread, so a class that never moves needs a real rise
_EPS = 1e-7  # probabilities are clipped to [_EPS, 1 - _EPS] before log-odds


def _log_odds(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def voiced_frames(frame_scores: np.ndarray, groups: ContentGroups) -> np.ndarray:
    """Frames whose speech part passes SPEECH_GATE."""
    return part_scores(frame_scores, groups)["speech"] >= SPEECH_GATE


def event_strength(frame_scores: np.ndarray, groups: ContentGroups) -> np.ndarray:
    """Per frame, the strongest rise of one other-sound class above the rest of the clip: its
    log-odds minus its median over the clip's frames, over its median absolute deviation plus
    one (at least 0). Human-sound and alarm classes do not count in voiced frames, source-ambiguous
    classes not in frames with music (MUSIC_GATE). Zeros for clips with fewer than 3 frames."""
    scores = np.asarray(frame_scores, dtype=np.float32)
    if len(scores) < _MIN_FRAMES or not len(groups.sound):
        return np.zeros(len(scores))
    odds = _log_odds(scores[:, groups.sound])
    median = np.median(odds, axis=0)
    rise = (odds - median) / (np.median(np.abs(odds - median), axis=0) + _SPREAD_FLOOR)
    voice_like = np.isin(groups.sound, np.concatenate([groups.human, groups.tonal]))
    rise[np.ix_(voiced_frames(scores, groups), voice_like)] = -np.inf
    with_music = part_scores(scores, groups)["music"] >= MUSIC_GATE
    rise[np.ix_(with_music, np.isin(groups.sound, groups.ambiguous))] = -np.inf
    return np.maximum(rise.max(axis=1), 0.0)


def music_log_odds(frame_scores: np.ndarray, groups: ContentGroups) -> np.ndarray:
    """Per frame, the log-odds of the music part (its best class)."""
    return _log_odds(part_scores(frame_scores, groups)["music"])


def music_extent(frame_scores: np.ndarray, groups: ContentGroups) -> float:
    """The share of frames whose music part passes MUSIC_GATE; 1 when a frame is voiced (music under
    speech is masked in many frames, so its extent says nothing) and 0 for a clip without frames."""
    scores = np.asarray(frame_scores, dtype=np.float32)
    if not len(scores):
        return 0.0
    if voiced_frames(scores, groups).any():
        return 1.0
    return float((part_scores(scores, groups)["music"] >= MUSIC_GATE).mean())


# Gates: a threshold on a clip value that a part's peak must also pass to count ({gate: part}).
GATES = {"music_extent": "music"}

# The rules beyond the window peaks, and the part each finds: the music bed, and an event in an
# unvoiced or a voiced frame (events under speech need their own, higher threshold: a synthetic
# or buzzy voice lifts tone-like classes such as dial tone or car alarm).
FRAME_RULES = {"music_bed": "music", "sound_event": "sound", "sound_event_voiced": "sound"}


def frame_evidence(frame_scores: np.ndarray, groups: ContentGroups) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The clip's value for each of FRAME_RULES (the music part's mean log-odds over frames, -inf
    in a clip without a voiced frame; the highest :func:`event_strength` in unvoiced and in voiced
    frames) and GATES (:func:`music_extent`), and the per-frame values behind the rules. A clip
    without frames gets -inf (extent 0)."""
    scores = np.asarray(frame_scores, dtype=np.float32)
    events, voiced = event_strength(scores, groups), voiced_frames(scores, groups)
    per_frame = {"music_bed": music_log_odds(scores, groups), "sound_event": np.where(voiced, 0.0, events),
                 "sound_event_voiced": np.where(voiced, events, 0.0)}
    if not len(scores):
        return {**{rule: -math.inf for rule in FRAME_RULES}, "music_extent": 0.0}, per_frame
    clip = {"music_bed": float(per_frame["music_bed"].mean()) if voiced.any() else -math.inf,
            "sound_event": float(per_frame["sound_event"].max()),
            "sound_event_voiced": float(per_frame["sound_event_voiced"].max()),
            "music_extent": music_extent(scores, groups)}
    return clip, per_frame


def parts_present(kth_best: dict[str, float], rules: dict[str, float], thresholds: RoutingThresholds,
                  is_silent: bool = False) -> tuple[bool, bool, bool]:
    """Speech, music, sound present? ``kth_best``: each part's ``min_windows``-th best window score
    (-inf when the clip has fewer windows); ``rules``: the clip's :func:`frame_evidence` (a rule
    missing there never fires; a gate missing there is passed)."""
    if is_silent:
        return False, False, False
    present = {part: kth_best[part] >= getattr(thresholds, part) for part in PARTS}
    for gate, part in GATES.items():
        limit = getattr(thresholds, gate)
        if limit is not None and rules.get(gate, math.inf) < limit:
            present[part] = False
    for rule, part in FRAME_RULES.items():
        limit = getattr(thresholds, rule)
        if limit is not None and rules.get(rule, -math.inf) >= limit:
            present[part] = True
    return bool(present["speech"]), bool(present["music"]), bool(present["sound"])


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


def merge_intervals(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of (start_s, end_s) intervals, sorted, touching or overlapping ones merged."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], float(end)))
        else:
            merged.append((float(start), float(end)))
    return merged


def route_clip(
    window_scores: np.ndarray,
    window_starts: np.ndarray,
    window_ends: np.ndarray,
    groups: ContentGroups,
    thresholds: RoutingThresholds = RoutingThresholds(),
    is_silent: bool = False,
    frame_scores: np.ndarray | None = None,
    frame_starts: np.ndarray | None = None,
) -> Route:
    """The clip's domain, its part scores and per-part time segments. Without ``frame_scores``
    the windows serve as frames, except for the music bed (off). Segments: the windows where a part's peak passes, plus the
    frames where a frame rule that fired passes (for the music bed: frames at or above it); a peak
    that a gate stops marks no windows."""
    window_starts, window_ends = np.asarray(window_starts, dtype=np.float64), np.asarray(window_ends, dtype=np.float64)
    per_window = part_scores(window_scores, groups)
    if frame_scores is None:
        frames, frame_spans = window_scores, list(zip(window_starts, window_ends))
    else:
        frames = frame_scores
        clip_end = float(window_ends[-1]) if len(window_ends) else 0.0
        frame_spans = [(float(s), min(float(s) + FRAME_S, clip_end)) for s in np.asarray(frame_starts)]
    rules, per_frame = frame_evidence(frames, groups)
    if frame_scores is None:  # a 2 s window's score is its best moment: windows overstate a bed
        rules["music_bed"] = -math.inf
    k = thresholds.min_windows
    kth = {part: float(np.sort(per_window[part])[::-1][k - 1]) if len(per_window[part]) >= k else -math.inf
           for part in PARTS}
    present = parts_present(kth, rules, thresholds, is_silent)
    gated = {part for gate, part in GATES.items()
             if getattr(thresholds, gate) is not None and rules[gate] < getattr(thresholds, gate)}
    segments = {part: [] if part in gated else
                merge_windows(per_window[part] >= getattr(thresholds, part), window_starts, window_ends)
                for part in PARTS}
    for rule, part in FRAME_RULES.items():
        limit = getattr(thresholds, rule)
        if limit is None or rules[rule] < limit:
            continue
        spans = [span for span, value in zip(frame_spans, per_frame[rule]) if value >= limit]
        segments[part] = merge_intervals(segments[part] + spans)
    domain = domain_code(*present)
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
    """The routing fields of one clip from its row of the tags table (its ``frame_scores`` and
    ``frame_starts_s`` too when the table has them)."""
    frames = tags.get("frame_scores")
    if frames is not None and tags.get("frame_starts_s") is not None:
        frames = np.asarray(frames, dtype=np.float32).reshape(len(tags["frame_starts_s"]), -1)
    else:
        frames = None
    route = route_clip(
        np.asarray(tags["window_scores"], dtype=np.float32).reshape(len(tags["window_starts_s"]), -1),
        np.asarray(tags["window_starts_s"]), np.asarray(tags["window_ends_s"]), groups, thresholds, is_silent,
        frames, None if frames is None else np.asarray(tags["frame_starts_s"]),
    )
    row = {"domain": route.domain, "is_silent": is_silent}
    for part in PARTS:
        row[f"{part}_score"] = route.scores[part]
        row[f"{part}_segments"] = [list(s) for s in route.segments[part]]
    return row


def thresholds_from(settings) -> RoutingThresholds:
    """The run's thresholds: the file ACAV_ROUTING_THRESHOLDS_FILE names, every value from it,
    when set; otherwise ACAV_SPEECH_THRESHOLD, ACAV_MUSIC_THRESHOLD, ACAV_SOUND_THRESHOLD and the
    defaults of the other values."""
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
    rows, framed = [], 0
    for row in tags_table.to_pylist():
        framed += row.get("frame_scores") is not None
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
        "clips_with_frame_scores": framed,  # the others' events are looked for in their 2 s windows
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
