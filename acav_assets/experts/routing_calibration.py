"""Calibrate the routing thresholds against the domains recorded in a manifest.

Each clip is decoded, stored-and-read as 16-bit FLAC, tagged on 2 s windows and measured for silence
once (:func:`collect_evidence`); only its per-window part scores and the values of the frame rules
(music bed, strongest event in unvoiced and in voiced frames, music extent, from frame scores) are kept, so the
search never tags again. A part is present when its ``min_windows``-th best window reaches its peak
threshold and the clip passes the part's gates (music: ``music_extent``), or one of its frame rules
reaches its threshold (as :func:`~acav_assets.experts.routing.route_clip` decides). For each
``min_windows`` from 1 to ``max_min_windows`` (default 1: on the real corpus's calibration split, 2
and 3 fitted better but cross-validated worse, 74 % against 78 %, and fail short clips) the search
tries every combination of the seven thresholds on a grid cut between the observed values (each
frame rule and gate also switched off), then refines each over every observed cut, keeping the best
exact accuracy (ties: the one nearest the current thresholds). :func:`calibrate` reports
cross-validated accuracy with folds grouped by source, so no recording is both fitted and scored, and
scores held-out clips only with thresholds fitted without them.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from acav_assets.contracts.domains import PARTS, domain_code, has_part
from acav_assets.experts.acoustics import is_silent
from acav_assets.experts.routing import (
    FRAME_RULES,
    GATES,
    ContentGroups,
    RoutingThresholds,
    confusion_markdown,
    confusion_matrix,
    frame_evidence,
    part_scores,
    parts_present,
)
from acav_assets.experts.tagging.windows import tag_clips
from acav_assets.ingest.manifests import PlannedClip
from acav_assets.io.audio_decoding import AudioDecodeError, decode_clip
from acav_assets.io.audio_shards import encode_flac
from acav_assets.stats.figures import matrix_counts, routing_confusion
from acav_assets.stats.plots import png_bytes

DEFAULT_THRESHOLDS = RoutingThresholds()


@dataclass(frozen=True)
class ClipEvidence:
    """What routing needs of one clip: its recorded domain, per-window part scores and the values
    of the frame rules."""

    key: str
    source_id: str
    domain: str
    is_silent: bool
    windows: dict[str, np.ndarray]  # part -> [W], the best score of the part in each window
    split: str | None = None
    rules: dict[str, float] = field(default_factory=dict)  # routing.frame_evidence of the frame scores


def collect_evidence(
    clips: Sequence[PlannedClip], tagger, groups: ContentGroups, split_column: str | None = None,
    max_seconds: float | None = None, batch: int = 32,
) -> tuple[list[ClipEvidence], list[str]]:
    """Decode, tag and measure every clip with a recorded domain; also why clips were left out."""
    evidence, skipped = [], []
    labelled = [clip for clip in clips if clip.row.domain]
    skipped += [f"{clip.key}: no recorded domain" for clip in clips if not clip.row.domain]
    for first in range(0, len(labelled), batch):
        decoded = []
        for clip in labelled[first:first + batch]:
            try:
                audio = decode_clip(clip.source, clip.start, clip.end, max_seconds=max_seconds).audio
            except AudioDecodeError as error:
                skipped.append(f"{clip.key}: {error}")
                continue
            # The tags asset reads the stored 16-bit FLAC, so tag exactly those samples.
            decoded.append((clip, sf.read(io.BytesIO(encode_flac(audio).flac), dtype="float32")[0]))
        for (clip, audio), tags in zip(decoded, tag_clips(tagger, [audio for _, audio in decoded], frames=True)):
            split = clip.row.extra.get(split_column) if split_column else None
            evidence.append(ClipEvidence(
                clip.key, clip.source_id, clip.row.domain, is_silent(audio), part_scores(tags.window_scores, groups),
                None if split is None else str(split).strip(), frame_evidence(tags.frame_scores, groups)[0]))
    return evidence, skipped


def kth_best(evidence: Sequence[ClipEvidence], max_k: int) -> dict[str, np.ndarray]:
    """Per part, [N, max_k]: each clip's k-th best window score (-inf when fewer windows or silent)."""
    best = {part: np.full((len(evidence), max_k), -np.inf) for part in PARTS}
    for n, clip in enumerate(evidence):
        if clip.is_silent:
            continue
        for part in PARTS:
            ranked = np.sort(np.asarray(clip.windows[part], dtype=np.float64))[::-1][:max_k]
            best[part][n, :len(ranked)] = ranked
    return best


def route_evidence(evidence: Sequence[ClipEvidence], thresholds: RoutingThresholds) -> list[str]:
    """Each clip's domain under ``thresholds``, as route_clip would give it."""
    best = kth_best(evidence, thresholds.min_windows)
    return [domain_code(*parts_present({part: best[part][n, -1] for part in PARTS}, clip.rules, thresholds,
                                       clip.is_silent))
            for n, clip in enumerate(evidence)]


@dataclass(frozen=True)
class RoutingScore:
    """Exact accuracy, the recorded x routed confusion matrix and per-part precision and recall."""

    n: int
    accuracy: float | None
    matrix: dict[str, dict[str, int]]
    letters: dict[str, dict[str, float | None]]  # part -> {"precision", "recall"}; None: no cases


def score_routing(recorded: Sequence[str], routed: Sequence[str]) -> RoutingScore:
    matrix, accuracy = confusion_matrix(recorded, routed)
    letters = {}
    for part in PARTS:
        truth = np.array([has_part(d, part) for d in recorded], dtype=bool)
        guess = np.array([has_part(d, part) for d in routed], dtype=bool)
        hits = int((truth & guess).sum())
        letters[part] = {"precision": hits / guess.sum() if guess.any() else None,
                         "recall": hits / truth.sum() if truth.any() else None}
    return RoutingScore(len(recorded), accuracy, matrix, letters)


# Each threshold: the part its rule finds (or a gate stops), whether it is in [0, 1], and the scale
# that makes distances to the current thresholds comparable (log-odds rules move in larger steps).
_RULES = {"speech": ("speech", True, 1.0), "music": ("music", True, 1.0), "sound": ("sound", True, 1.0),
          **{rule: (part, False, 10.0) for rule, part in FRAME_RULES.items()},
          **{gate: (part, True, 1.0) for gate, part in GATES.items()}}
_OFF = math.inf  # a frame rule's threshold of inf: that rule off (None in RoutingThresholds)
_OPEN = -math.inf  # a gate's threshold of -inf: every clip passes (None in RoutingThresholds)


def _off(name: str) -> float:
    """The search's stand-in for None: a rule that never fires, a gate that never stops."""
    return _OPEN if name in GATES else _OFF


def _part_on(part: str, values: dict[str, np.ndarray], cut: dict[str, np.ndarray]) -> np.ndarray:
    """Which clips (last axis) each candidate (first axis of the ``cut`` arrays) finds ``part`` in:
    its peak, when its gates pass, or any of its frame rules."""
    peak = values[part][None] >= cut[part][:, None]
    for gate, gated in GATES.items():
        if gated == part:
            peak &= values[gate][None] >= cut[gate][:, None]
    rules = [values[rule][None] >= cut[rule][:, None] for rule, found in FRAME_RULES.items() if found == part]
    return np.logical_or.reduce([peak, *rules])


def _cuts(values: np.ndarray, current: float, max_grid: int | None = None, bounded: bool = True) -> np.ndarray:
    """Thresholds between consecutive distinct observed values (and past both ends), thinned to
    ``max_grid``, plus the current one (when finite); in [0, 1] when ``bounded``."""
    seen = np.unique(values[np.isfinite(values)])
    if bounded:
        edges = np.concatenate([[0.0], seen, [1.0]]) if len(seen) else np.array([0.0, 1.0])
    else:
        edges = np.concatenate([seen[:1] - 1.0, seen, seen[-1:] + 1.0]) if len(seen) else np.array([0.0])
    cuts = np.unique((edges[1:] + edges[:-1]) / 2) if len(edges) > 1 else edges
    if max_grid and len(cuts) > max_grid:
        cuts = cuts[np.unique(np.linspace(0, len(cuts) - 1, max_grid).round().astype(int))]
    if math.isfinite(current):
        cuts = np.append(cuts, current)
    return np.unique(np.clip(cuts, 0.0, 1.0) if bounded else cuts)


def _tidy(cut: float, values: np.ndarray, bounded: bool = True) -> float:
    """``cut`` with the fewest decimals that still falls strictly between the same observed values."""
    if not math.isfinite(cut):
        return cut
    below, above = values[values < cut], values[values >= cut]
    low, high = (below.max() if len(below) else -np.inf), (above.min() if len(above) else np.inf)
    for decimals in range(1, 7):
        if low < round(cut, decimals) < high and (not bounded or 0.0 <= round(cut, decimals) <= 1.0):
            return round(cut, decimals)
    return cut


def _nearest_best(counts: np.ndarray, distance: np.ndarray) -> int:
    """The index with the most right clips, the nearest the current thresholds among ties."""
    return int(np.where(counts == counts.max(), distance, np.inf).argmin())


def _distance(name: str, cuts: np.ndarray, current: float) -> np.ndarray:
    """How far each cut is from the current threshold, in the rule's scale (off to on counts 1)."""
    cuts = np.asarray(cuts, dtype=np.float64)
    one_off = np.isinf(cuts) != math.isinf(current)
    with np.errstate(invalid="ignore"):
        gap = np.abs(cuts - current) / _RULES[name][2]
    return np.where(one_off, 1.0, np.where(np.isinf(cuts), 0.0, gap))


def _presence(values: dict[str, np.ndarray], chosen: dict[str, float]) -> dict[str, np.ndarray]:
    """Per part, the clips whose part the ``chosen`` thresholds find present."""
    cut = {name: np.array([value]) for name, value in chosen.items()}
    return {part: _part_on(part, values, cut)[0] for part in PARTS}


def _rule_values(evidence: Sequence[ClipEvidence], k: int, best_k: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per threshold, each clip's value it is compared with (-inf for silent clips)."""
    silent = np.array([c.is_silent for c in evidence])
    values = {part: best_k[part][:, k - 1] for part in PARTS}
    for rule in FRAME_RULES:
        values[rule] = np.where(silent, -np.inf, [c.rules.get(rule, -np.inf) for c in evidence])
    for gate in GATES:  # a clip without the value passes the gate, as in routing.parts_present
        values[gate] = np.array([c.rules.get(gate, np.inf) for c in evidence], dtype=np.float64)
    return values


def fit_thresholds(
    evidence: Sequence[ClipEvidence], current: RoutingThresholds = DEFAULT_THRESHOLDS, max_grid: int = 48,
    max_min_windows: int = 1, rule_grid: int = 12, fixed: Collection[str] = (),
) -> tuple[RoutingThresholds, float]:
    """The thresholds with the best exact accuracy on ``evidence``, and that accuracy: for each
    ``min_windows``, a joint search (speech on a ``max_grid`` grid; music's and sound's rules
    together, each on a ``rule_grid`` grid, frame rules also off), then each threshold refined
    over every observed cut with the others held. Thresholds named in ``fixed`` keep their
    current value, and a frame rule switched off in ``current`` (None) stays off."""
    if not evidence:
        raise ValueError("no clips to fit the routing thresholds on")
    best_k = kth_best(evidence, max_k=max_min_windows)
    truth = {part: np.array([has_part(c.domain, part) for c in evidence]) for part in PARTS}
    start = {name: _off(name) if getattr(current, name) is None else float(getattr(current, name)) for name in _RULES}
    unknown = set(fixed) - set(_RULES)
    if unknown:
        raise ValueError(f"cannot hold {', '.join(sorted(unknown))}: the thresholds are {', '.join(_RULES)}")
    searched = [name for name in _RULES if math.isfinite(start[name]) and name not in fixed]
    best: tuple[float, float, RoutingThresholds] | None = None  # (accuracy, -distance, thresholds)
    for k in range(1, max_min_windows + 1):
        values = _rule_values(evidence, k, best_k)

        def grid(name: str, size: int | None, values: dict[str, np.ndarray] = values) -> np.ndarray:
            if name not in searched:
                return np.array([start[name]])
            cuts = _cuts(values[name], start[name], size, _RULES[name][1])
            return cuts if name in PARTS else np.append(cuts, _off(name))

        # Per part, the candidate threshold combinations, the clips each gets right and its distance.
        options, right, distance = {}, {}, {}
        for part in PARTS:
            names = [name for name, rule in _RULES.items() if rule[0] == part]
            grids = [grid(name, max_grid if name == "speech" else rule_grid) for name in names]
            combos = np.stack(np.meshgrid(*grids, indexing="ij"), axis=-1).reshape(-1, len(names))
            on = _part_on(part, values, {name: combos[:, j] for j, name in enumerate(names)})
            options[part] = [dict(zip(names, map(float, row))) for row in combos]
            right[part] = (on == truth[part][None]).astype(np.float32)
            distance[part] = sum(_distance(name, combos[:, j], start[name]) for j, name in enumerate(names))
        top: tuple[float, float, tuple[int, int, int]] | None = None
        for s, (r_speech, d_speech) in enumerate(zip(right["speech"], distance["speech"])):
            correct = (r_speech * right["music"]) @ right["sound"].T  # [music combos, sound combos]
            gaps = d_speech + distance["music"][:, None] + distance["sound"][None, :]
            m, a = np.unravel_index(_nearest_best(correct.ravel(), gaps.ravel()), correct.shape)
            if top is None or (correct[m, a], -gaps[m, a]) > top[:2]:
                top = (float(correct[m, a]), -float(gaps[m, a]), (s, int(m), int(a)))
        chosen = {name: v for part, g in zip(PARTS, top[2]) for name, v in options[part][g].items()}
        for _ in range(3):  # coordinate refinement over the full set of cuts
            before = dict(chosen)
            for name in searched:
                part = _RULES[name][0]
                cuts = grid(name, None)
                others = _presence(values, chosen)
                held = np.logical_and.reduce([others[o] == truth[o] for o in PARTS if o != part])
                on = _part_on(part, values, {**{n: np.full(len(cuts), v) for n, v in chosen.items()}, name: cuts})
                counts = ((on == truth[part][None]) & held[None]).sum(axis=1)
                chosen[name] = float(cuts[_nearest_best(counts, _distance(name, cuts, start[name]))])
            if chosen == before:
                break
        chosen = {name: cut if cut == start[name] else _tidy(cut, values[name], _RULES[name][1])
                  for name, cut in chosen.items()}
        present = _presence(values, chosen)
        ok = np.logical_and.reduce([present[part] == truth[part] for part in PARTS])
        gap = sum(float(_distance(name, np.array([chosen[name]]), start[name])[0]) for name in _RULES)
        gap += k != current.min_windows
        fitted = RoutingThresholds(min_windows=k, **{name: None if v == _off(name) else v for name, v in chosen.items()})
        candidate = (float(ok.mean()), -gap, fitted)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2], best[0]


def source_folds(source_ids: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per clip, every clip of a source in the same fold, folds balanced by clips."""
    sizes = Counter(source_ids)
    if folds < 2 or folds > len(sizes):
        raise ValueError(f"cannot make {folds} folds from {len(sizes)} sources: use --folds between 2 and {len(sizes)}")
    order = sorted(sizes)
    np.random.default_rng(seed).shuffle(order)
    load, fold_of = [0] * folds, {}
    for source in sorted(order, key=lambda s: -sizes[s]):
        fold_of[source] = load.index(min(load))
        load[fold_of[source]] += sizes[source]
    return np.array([fold_of[s] for s in source_ids])


@dataclass(frozen=True)
class Calibration:
    """Thresholds fitted on the fit clips and how they do on clips they were not fitted on."""

    current: RoutingThresholds
    before: RoutingScore  # the current thresholds on the reported clips
    fold_accuracies: list[float]
    cv_accuracy: float  # mean over folds, each scored with thresholds fitted on the other folds
    heldout: RoutingScore
    heldout_label: str
    heldout_thresholds: RoutingThresholds | None  # None: each fold routed with its own
    thresholds: RoutingThresholds  # fitted on every fit clip
    fit_accuracy: float
    n_fit: int
    n_report: int
    shared_sources: int  # sources with clips both in the fit and the report split


def calibrate(
    evidence: Sequence[ClipEvidence], current: RoutingThresholds = DEFAULT_THRESHOLDS, folds: int = 5,
    fit: str | None = None, report: str | None = None, max_grid: int = 48, max_min_windows: int = 1, seed: int = 0,
    fixed: Collection[str] = (),
) -> Calibration:
    """Fit thresholds and score them honestly. With ``fit`` and ``report`` split names, the search
    (and its cross-validation) sees only the ``fit`` clips and the held-out table is the ``report``
    clips under the final thresholds; without, the held-out table pools each fold's clips routed
    with the thresholds fitted on the other folds. ``fixed``: thresholds the search keeps as
    they are in ``current``."""
    if (fit is None) != (report is None):
        raise ValueError("give both split names (fit and report) or neither")
    fitted = [c for c in evidence if fit is None or c.split == fit]
    reported = list(evidence) if report is None else [c for c in evidence if c.split == report]
    if not fitted or not reported:
        raise ValueError(f"no clips with a recorded domain in the split {fit if not fitted else report!r}"
                         if fit else "no clips with a recorded domain")
    fold = source_folds([c.source_id for c in fitted], folds, seed)
    out_of_fold = [""] * len(fitted)
    accuracies = []
    for f in range(folds):
        train = [c for c, g in zip(fitted, fold) if g != f]
        test = np.flatnonzero(fold == f)
        routed = route_evidence([fitted[i] for i in test], fit_thresholds(train, current, max_grid, max_min_windows, fixed=fixed)[0])
        accuracies.append(float(np.mean([r == fitted[i].domain for i, r in zip(test, routed)])))
        for i, r in zip(test, routed):
            out_of_fold[i] = r
    final, fit_accuracy = fit_thresholds(fitted, current, max_grid, max_min_windows, fixed=fixed)
    recorded = [c.domain for c in reported]
    if report is None:
        heldout, label = score_routing(recorded, out_of_fold), f"each clip routed by the fold that left it out, {folds} folds"
    else:
        heldout, label = score_routing(recorded, route_evidence(reported, final)), f"split {report!r}, final thresholds"
    shared = {c.source_id for c in fitted} & {c.source_id for c in reported} if report is not None else set()
    return Calibration(current, score_routing(recorded, route_evidence(reported, current)), accuracies,
                       float(np.mean(accuracies)), heldout, label, None if report is None else final, final,
                       fit_accuracy, len(fitted), len(reported), len(shared))


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def score_text(title: str, score: RoutingScore, thresholds: RoutingThresholds | None) -> str:
    """A score as text: accuracy, confusion matrix (recorded x routed), per-part precision and recall
    (``thresholds`` None: each fold's own)."""
    letters = "\n".join(f"| {part} | {_percent(v['precision'])} | {_percent(v['recall'])} |"
                        for part, v in score.letters.items())
    return (f"{title}: {score.n} clips, exact accuracy {_percent(score.accuracy)} with "
            f"{thresholds_text(thresholds) if thresholds else 'each fold its own thresholds'}\n\n"
            f"{confusion_markdown(score.matrix)}\n\n| part | precision | recall |\n|---|---|---|\n{letters}\n")


def thresholds_text(thresholds: RoutingThresholds) -> str:
    def rule(value: float | None) -> str:
        return "off" if value is None else f"{value:g}"

    return (f"speech {thresholds.speech:g}, music {thresholds.music:g} (lasting {rule(thresholds.music_extent)} "
            f"without a voice) or bed {rule(thresholds.music_bed)}, "
            f"sound {thresholds.sound:g} or event {rule(thresholds.sound_event)} (voiced "
            f"{rule(thresholds.sound_event_voiced)}), min_windows {thresholds.min_windows}")


def calibration_text(result: Calibration) -> str:
    """The whole report: before, cross-validation, held-out table and the final thresholds."""
    folds = ", ".join(_percent(a) for a in result.fold_accuracies)
    warning = (f"\nwarning: {result.shared_sources} sources have clips in both splits; their recordings are "
               "fitted and reported\n" if result.shared_sources else "")
    return (f"{score_text('current thresholds', result.before, result.current)}\n"
            f"cross-validated accuracy (fit clips: {result.n_fit}, folds grouped by source): "
            f"{_percent(result.cv_accuracy)} (folds: {folds})\n{warning}\n"
            f"{score_text(f'held out ({result.heldout_label})', result.heldout, result.heldout_thresholds)}\n"
            f"final thresholds (fitted on all {result.n_fit} fit clips, accuracy there "
            f"{_percent(result.fit_accuracy)}): {thresholds_text(result.thresholds)}\n")


def confusion_image_path(path: str) -> Path:
    """Where the confusion heatmap goes beside the thresholds file: ``x.json`` -> ``x.confusion.png``."""
    return Path(path).with_suffix(".confusion.png")


def write_thresholds_file(path: str, thresholds: RoutingThresholds, provenance: dict,
                          confusion: Mapping[str, Mapping[str, int]] | None = None) -> Path | None:
    """The JSON file RoutingThresholds.from_file reads (ACAV_ROUTING_THRESHOLDS_FILE), and, given a
    ``confusion`` matrix (recorded x routed, e.g. ``Calibration.heldout.matrix``), its heatmap PNG
    beside it (:func:`confusion_image_path`); returns the PNG's path, None without a matrix."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"routing_thresholds": asdict(thresholds), "provenance": provenance}, handle, indent=2)
        handle.write("\n")
    if confusion is None:
        return None
    image = confusion_image_path(path)
    image.write_bytes(png_bytes(routing_confusion(matrix_counts(confusion), "Routing: recorded x routed, held out")))
    return image
