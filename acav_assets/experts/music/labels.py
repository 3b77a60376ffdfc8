"""AudioSet music-subtree labels: instrument, genre, mood and singing classes, and picking them from tag scores.

Display names are verbatim from the AudioSet ontology / YAMNet class map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["GENRE_LABELS", "INSTRUMENT_LABELS", "MOOD_LABELS", "VOCAL_LABELS", "clean_scores", "labels_above"]

# "Musical instrument" and every class below it (the root itself is left out: it names no
# instrument). Intermediate families (Percussion, Keyboard (musical), ...) are kept, as a
# caption can say "percussion" when no single instrument is sure.
INSTRUMENT_LABELS: tuple[str, ...] = (
    "Plucked string instrument", "Guitar", "Electric guitar", "Bass guitar", "Acoustic guitar",
    "Steel guitar, slide guitar", "Tapping (guitar technique)", "Strum", "Banjo", "Sitar",
    "Mandolin", "Zither", "Ukulele", "Keyboard (musical)", "Piano", "Electric piano", "Organ",
    "Electronic organ", "Hammond organ", "Synthesizer", "Sampler", "Harpsichord", "Percussion",
    "Drum kit", "Drum machine", "Drum", "Snare drum", "Rimshot", "Drum roll", "Bass drum",
    "Timpani", "Tabla", "Cymbal", "Hi-hat", "Wood block", "Tambourine", "Rattle (instrument)",
    "Maraca", "Gong", "Tubular bells", "Mallet percussion", "Marimba, xylophone", "Glockenspiel",
    "Vibraphone", "Steelpan", "Orchestra", "Brass instrument", "French horn", "Trumpet",
    "Trombone", "Bowed string instrument", "String section", "Violin, fiddle", "Pizzicato",
    "Cello", "Double bass", "Wind instrument, woodwind instrument", "Flute", "Saxophone",
    "Clarinet", "Harp", "Bell", "Church bell", "Jingle bell", "Bicycle bell", "Tuning fork",
    "Chime", "Wind chime", "Change ringing (campanology)", "Harmonica", "Accordion", "Bagpipes",
    "Didgeridoo", "Shofar", "Theremin", "Singing bowl", "Scratching (performance technique)",
)

# Every class below "Music genre", sub-genres included (Heavy metal under Rock music, ...).
GENRE_LABELS: tuple[str, ...] = (
    "Pop music", "Hip hop music", "Beatboxing", "Rock music", "Heavy metal", "Punk rock",
    "Grunge", "Progressive rock", "Rock and roll", "Psychedelic rock", "Rhythm and blues",
    "Soul music", "Reggae", "Country", "Swing music", "Bluegrass", "Funk", "Folk music",
    "Middle Eastern music", "Jazz", "Disco", "Classical music", "Opera", "Electronic music",
    "House music", "Techno", "Dubstep", "Drum and bass", "Electronica", "Electronic dance music",
    "Ambient music", "Trance music", "Music of Latin America", "Salsa music", "Flamenco", "Blues",
    "Music for children", "New-age music", "Vocal music", "A capella", "Music of Africa",
    "Afrobeat", "Christian music", "Gospel music", "Music of Asia", "Carnatic music",
    "Music of Bollywood", "Ska", "Traditional music", "Independent music",
)

# "Music mood". "Funny music" is an AudioSet class that YAMNet's 521-class map lacks; it is
# kept for taggers trained on all 527 classes.
MOOD_LABELS: tuple[str, ...] = (
    "Happy music", "Funny music", "Sad music", "Tender music", "Exciting music", "Angry music",
    "Scary music",
)

# Tagger classes that mean a singing (or rapping) voice is present. "Male/Female singing"
# exist only in the 527-class AudioSet label set.
VOCAL_LABELS: tuple[str, ...] = (
    "Singing", "Choir", "Yodeling", "Chant", "Mantra", "Male singing", "Female singing",
    "Child singing", "Synthetic singing", "Rapping", "Humming", "Vocal music", "A capella",
    "Beatboxing",
)


def clean_scores(tag_scores: Mapping[str, float]) -> dict[str, float]:
    """The finite numeric scores of ``tag_scores``, keyed by label text."""
    clean = {}
    for label, score in tag_scores.items():
        try:
            value = float(score)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            clean[str(label)] = value
    return clean


def labels_above(tags: Mapping[str, float], names: tuple[str, ...], threshold: float) -> list[dict]:
    """``[{"label", "score"}]`` of ``names`` scoring above ``threshold``, best first."""
    found = [{"label": name, "score": tags[name]} for name in names if tags.get(name, -math.inf) > threshold]
    return sorted(found, key=lambda item: (-item["score"], item["label"]))
