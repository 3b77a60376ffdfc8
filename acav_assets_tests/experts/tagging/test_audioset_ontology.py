"""The packaged AudioSet ontology: size, names, the DAG structure and the 527 tagger classes."""

from __future__ import annotations

import csv
import json
from importlib import resources

import pytest

from acav_assets.experts.tagging import audioset_ontology as onto
from acav_assets.experts.tagging.audioset_ontology import (
    AUDIOSET_527,
    AudioSetClass,
    Ontology,
    load_ontology,
)


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return load_ontology()


def test_all_632_classes_load_with_only_the_kept_fields(ontology):
    assert len(ontology) == 632
    raw = json.loads((resources.files("acav_assets") / "data" / "audioset_ontology.json").read_text("utf-8"))
    assert len(raw) == 632
    assert all(set(entry) == {"id", "name", "child_ids", "restrictions"} for entry in raw)
    assert load_ontology() is ontology  # cached


def test_seven_roots_and_named_constants(ontology):
    assert set(ontology.roots) == {
        onto.HUMAN_SOUNDS, onto.ANIMAL, onto.MUSIC, onto.NATURAL_SOUNDS, onto.SOUNDS_OF_THINGS,
        onto.SOURCE_AMBIGUOUS_SOUNDS, onto.CHANNEL_ENVIRONMENT_BACKGROUND,
    }
    assert ontology.name(onto.SPEECH) == "Speech"
    assert ontology.name(onto.MUSIC) == "Music"
    assert ontology.name(onto.SILENCE) == "Silence"
    assert ontology.name(onto.HUMAN_VOICE) == "Human voice"
    assert ontology.name(onto.CHANNEL_ENVIRONMENT_BACKGROUND) == "Channel, environment and background"
    assert ontology.mid("Channel, environment and background") == onto.CHANNEL_ENVIRONMENT_BACKGROUND


def test_names_are_unique_and_round_trip(ontology):
    for mid, cls in ontology.classes.items():
        assert ontology.mid(cls.name) == mid
    with pytest.raises(KeyError, match="no AudioSet ontology class"):
        ontology.mid("speech")  # exact display names only
    with pytest.raises(KeyError, match="unknown AudioSet ontology id"):
        ontology.name("/m/nope")


def test_speech_subtree(ontology):
    speech = ontology.descendants(onto.SPEECH)
    names = {ontology.name(mid) for mid in speech}
    assert {"Speech", "Male speech, man speaking", "Female speech, woman speaking", "Conversation",
            "Child speech, kid speaking", "Narration, monologue"} <= names
    assert onto.SPEECH not in ontology.descendants(onto.SPEECH, include_self=False)
    assert ontology.mid("Singing") not in speech  # a sibling under Human voice, not below Speech
    assert speech < ontology.descendants(onto.HUMAN_VOICE)


def test_music_subtree(ontology):
    music = {ontology.name(mid) for mid in ontology.descendants(onto.MUSIC)}
    assert {"Piano", "Pop music", "Electric guitar", "Jazz", "Happy music", "Drum kit"} <= music
    assert "Speech" not in music
    # Deep descendants are reached transitively: Music > Musical instrument > Keyboard > Piano > Electric piano
    assert ontology.mid("Electric piano") in ontology.descendants(onto.MUSIC)


def test_dag_with_several_parents(ontology):
    clapping = ontology.mid("Clapping")
    assert {ontology.name(p) for p in ontology.parents(clapping)} == {"Hands", "Human group actions"}
    assert ontology.parents(onto.MUSIC) == ()
    assert {onto.HUMAN_SOUNDS, onto.HUMAN_VOICE, onto.SPEECH} <= ontology.ancestors(ontology.mid("Conversation"))


def test_no_cycles(ontology):
    # The constructor already refuses cycles; check the property directly as well.
    for mid, cls in ontology.classes.items():
        for child in cls.child_ids:
            assert mid not in ontology.descendants(child), f"cycle through {mid} -> {child}"
    cyclic = [
        AudioSetClass("/a", "A", ("/b",)),
        AudioSetClass("/b", "B", ("/c",)),
        AudioSetClass("/c", "C", ("/a",)),
    ]
    with pytest.raises(ValueError, match="cycle"):
        Ontology(cyclic)
    with pytest.raises(ValueError, match="unknown child"):
        Ontology([AudioSetClass("/a", "A", ("/zz",))])


def test_audioset_527_in_standard_order_and_all_in_the_ontology(ontology):
    assert len(AUDIOSET_527) == 527 == len(set(AUDIOSET_527))
    assert AUDIOSET_527[0] == onto.SPEECH
    assert AUDIOSET_527[137] == onto.MUSIC  # the standard index of Music
    text = (resources.files("acav_assets") / "data" / "audioset_527.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    for row, mid in zip(rows, AUDIOSET_527, strict=True):
        assert row["mid"] == mid
        assert ontology.name(mid) == row["display_name"]
    # Every class outside the 527 is an abstract/blacklisted grouping or a rare class.
    assert len(set(ontology.classes) - set(AUDIOSET_527)) == 105
