"""The AudioSet ontology: 632 sound classes in a DAG, and the 527 classes taggers predict.

Taggers speak in AudioSet machine ids (``/m/09x0r``); routing and captioning need the
hierarchy above them ("is this mid anywhere under Speech?"). This module loads the packaged,
trimmed copy of Google's ``ontology.json`` (see ``acav_assets/data/README.md``, CC BY-SA 4.0)
and answers name and subtree questions. The ontology is a DAG, not a tree: some classes have
several parents (Clapping is under Hands and under Human group actions), so subtrees are
computed transitively over ``child_ids`` and may overlap.

No Dagster imports; pure standard library.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "ANIMAL",
    "AUDIOSET_527",
    "AudioSetClass",
    "CHANNEL_ENVIRONMENT_BACKGROUND",
    "HUMAN_SOUNDS",
    "HUMAN_VOICE",
    "MUSIC",
    "NATURAL_SOUNDS",
    "Ontology",
    "SILENCE",
    "SOUNDS_OF_THINGS",
    "SOURCE_AMBIGUOUS_SOUNDS",
    "SPEECH",
    "load_audioset_527",
    "load_ontology",
]

# Well-known mids (display names in the comments are the ontology's own).
SPEECH = "/m/09x0r"  # Speech
MUSIC = "/m/04rlf"  # Music (also a top-level root)
SILENCE = "/m/028v0c"  # Silence
HUMAN_VOICE = "/m/09l8g"  # Human voice (parent of Speech, Singing, Laughter, ...)
HUMAN_SOUNDS = "/m/0dgw9r"  # Human sounds (root)
ANIMAL = "/m/0jbk"  # Animal (root)
NATURAL_SOUNDS = "/m/059j3w"  # Natural sounds (root)
SOUNDS_OF_THINGS = "/t/dd00041"  # Sounds of things (root)
SOURCE_AMBIGUOUS_SOUNDS = "/t/dd00098"  # Source-ambiguous sounds (root)
CHANNEL_ENVIRONMENT_BACKGROUND = "/t/dd00123"  # Channel, environment and background (root)

_DATA_DIR = resources.files("acav_assets") / "data"  # package data, see pyproject


@dataclass(frozen=True)
class AudioSetClass:
    """One ontology class: its mid, display name, direct children and restrictions.

    ``restrictions`` holds the ontology's flags: ``"abstract"`` (a grouping never used as a
    label) and ``"blacklist"`` (too ambiguous to label); most classes have none.
    """

    mid: str
    name: str
    child_ids: tuple[str, ...]
    restrictions: tuple[str, ...] = ()


class Ontology:
    """The class DAG with name lookups and transitive subtree queries.

    Construction checks that every child id is a known class and that there is no cycle, so
    a loaded ``Ontology`` is always a DAG. Subtree queries are memoised per instance.
    """

    def __init__(self, classes: Iterable[AudioSetClass]) -> None:
        self.classes: dict[str, AudioSetClass] = {}
        for cls in classes:
            if cls.mid in self.classes:
                raise ValueError(f"duplicate ontology class id {cls.mid!r}")
            self.classes[cls.mid] = cls
        self._by_name: dict[str, str] = {}
        for cls in self.classes.values():
            # First occurrence wins should two classes share a display name (none do today).
            self._by_name.setdefault(cls.name, cls.mid)
        parents: dict[str, list[str]] = {mid: [] for mid in self.classes}
        for cls in self.classes.values():
            for child in cls.child_ids:
                if child not in self.classes:
                    raise ValueError(f"class {cls.mid!r} lists unknown child {child!r}")
                parents[child].append(cls.mid)
        self._parents = {mid: tuple(ps) for mid, ps in parents.items()}
        self._check_acyclic()
        self._descendants: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, mid: object) -> bool:
        return mid in self.classes

    def _require(self, mid: str) -> AudioSetClass:
        try:
            return self.classes[mid]
        except KeyError:
            raise KeyError(f"unknown AudioSet ontology id {mid!r}") from None

    def name(self, mid: str) -> str:
        """Display name of ``mid`` (e.g. ``"/m/09x0r"`` -> ``"Speech"``)."""
        return self._require(mid).name

    def mid(self, name: str) -> str:
        """The mid whose display name is exactly ``name`` (case and punctuation included)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no AudioSet ontology class is named {name!r}") from None

    def parents(self, mid: str) -> tuple[str, ...]:
        """Direct parents of ``mid`` in file order (empty for the seven roots)."""
        self._require(mid)
        return self._parents[mid]

    @property
    def roots(self) -> tuple[str, ...]:
        """Classes without parents, in file order."""
        return tuple(mid for mid in self.classes if not self._parents[mid])

    def descendants(self, mid: str, include_self: bool = True) -> frozenset[str]:
        """Every class reachable from ``mid`` through ``child_ids`` (transitively)."""
        self._require(mid)
        found = self._descendants.get(mid)
        if found is None:
            seen: set[str] = set()
            stack = [mid]
            while stack:
                current = stack.pop()
                for child in self.classes[current].child_ids:
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
            found = frozenset(seen | {mid})
            self._descendants[mid] = found
        return found if include_self else found - {mid}

    def ancestors(self, mid: str, include_self: bool = True) -> frozenset[str]:
        """Every class from which ``mid`` is reachable (all paths up to the roots)."""
        self._require(mid)
        seen: set[str] = set()
        stack = [mid]
        while stack:
            for parent in self._parents[stack.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return frozenset(seen | {mid}) if include_self else frozenset(seen)

    def _check_acyclic(self) -> None:
        """Raise ``ValueError`` naming a cycle if ``child_ids`` contain one (iterative DFS)."""
        state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
        for root in self.classes:
            if state.get(root):
                continue
            path = [root]
            iterators = [iter(self.classes[root].child_ids)]
            state[root] = 1
            while iterators:
                child = next(iterators[-1], None)
                if child is None:
                    state[path.pop()] = 2
                    iterators.pop()
                elif state.get(child) == 1:
                    cycle = path[path.index(child) :] + [child]
                    raise ValueError("AudioSet ontology has a cycle: " + " -> ".join(cycle))
                elif not state.get(child):
                    state[child] = 1
                    path.append(child)
                    iterators.append(iter(self.classes[child].child_ids))


@functools.cache
def load_ontology() -> Ontology:
    """The packaged AudioSet ontology (632 classes), loaded once per process."""
    text = (_DATA_DIR / "audioset_ontology.json").read_text("utf-8")
    return Ontology(
        AudioSetClass(
            mid=entry["id"],
            name=entry["name"],
            child_ids=tuple(entry["child_ids"]),
            restrictions=tuple(entry.get("restrictions", ())),
        )
        for entry in json.loads(text)
    )


@functools.cache
def load_audioset_527() -> tuple[tuple[str, str], ...]:
    """The 527 evaluation classes as ``(mid, display_name)`` in the standard tagger order."""
    text = (_DATA_DIR / "audioset_527.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    if [int(row["index"]) for row in rows] != list(range(len(rows))):
        raise ValueError("audioset_527.csv indices are not 0..N-1 in order")
    return tuple((row["mid"], row["display_name"]) for row in rows)


AUDIOSET_527: tuple[str, ...] = tuple(mid for mid, _ in load_audioset_527())
