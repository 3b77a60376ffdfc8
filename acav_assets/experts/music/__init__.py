"""The music expert: rhythm, tonality, loudness, texture, vocals and tagger labels of a music clip.

Captions of music need a few musical facts ("an upbeat pop song in G major at about 120 BPM,
with drums, guitar and a female singer"). Tempo, beats, key, loudness and the harmonic /
percussive / vocal make-up are measured from the signal with librosa and numpy, on one shared
spectrogram (:mod:`.spectrogram`); genre, mood and instrument names come from the clip-level
AudioSet scores that the tagger already produced, filtered to the AudioSet music subtree.
Vocal separation and sung words run only when the tagger hears singing. Free of Dagster so it
can be unit-tested.

Modules: :mod:`.rhythm` (tempo, beats), :mod:`.tonality` (key), :mod:`.hpss` (harmonic /
percussive shares), :mod:`.vocals` (separation, presence, sung words), :mod:`.labels` (AudioSet
music classes), :mod:`.analysis` (one clip), :mod:`.expert` (one shard, the spec).

Every measure that a clip cannot support (digital silence or below -60 dBFS, too short) is
``None`` rather than a guess; the tagger-derived lists are filled whatever the signal.
"""

from acav_assets.experts.music.analysis import (
    analyse_music,
    analyse_music_and_vocals,
    separate_vocals,
)
from acav_assets.experts.music.expert import SPEC, music_of_shard
from acav_assets.experts.music.fields import MUSIC_FIELDS, VOCAL_FIELDS
from acav_assets.experts.music.labels import (
    GENRE_LABELS,
    INSTRUMENT_LABELS,
    MOOD_LABELS,
    VOCAL_LABELS,
)
from acav_assets.experts.music.part_times import PartTimes
from acav_assets.experts.music.tonality import PITCH_CLASSES
from acav_assets.experts.music.vocals import (
    HAS_VOCALS_THRESHOLD,
    MIN_SINGING_SCORE,
    transcribe_vocals,
)

__all__ = [
    "GENRE_LABELS",
    "HAS_VOCALS_THRESHOLD",
    "INSTRUMENT_LABELS",
    "MIN_SINGING_SCORE",
    "MOOD_LABELS",
    "MUSIC_FIELDS",
    "PITCH_CLASSES",
    "SPEC",
    "VOCAL_FIELDS",
    "VOCAL_LABELS",
    "PartTimes",
    "analyse_music",
    "analyse_music_and_vocals",
    "music_of_shard",
    "separate_vocals",
    "transcribe_vocals",
]
