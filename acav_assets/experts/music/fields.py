"""Arrow columns of the music table: ``MUSIC_FIELDS`` (signal and tag measures) and ``VOCAL_FIELDS`` (sung words)."""

from __future__ import annotations

import pyarrow as pa

from acav_assets.io.table_fields import described_field as _field

__all__ = ["MUSIC_FIELDS", "VOCAL_FIELDS"]

_LABEL_LIST = pa.list_(pa.struct([pa.field("label", pa.string()), pa.field("score", pa.float64())]))

MUSIC_FIELDS: list[pa.Field] = [
    _field("tempo_bpm", pa.float64(), "BPM",
           "Tempo from the onset-envelope autocorrelation (log-normal prior at 120 BPM picks the "
           "metrical level), refined by a least-squares fit of the tracked beats; null when silent, "
           "shorter than 0.5 s or without a steady pulse (beat_confidence < 0.2)."),
    _field("tempo_octave_ambiguous", pa.bool_(), "flag",
           "True when half or double the tempo scores at least 80 % of the chosen tempo "
           "(prior-weighted autocorrelation): the metrical level is uncertain. Null with tempo."),
    _field("beat_confidence", pa.float64(), "score [0,1]",
           "Normalised onset-envelope autocorrelation at the beat period, clipped to [0, 1]: ~1 for "
           "a steady pulse, ~0.1 for noise or speech. Null when silent or shorter than 0.5 s."),
    _field("beat_times_s", pa.list_(pa.float64()), "s",
           "Beat times from librosa's dynamic-programming beat tracker at the estimated tempo; "
           "empty when there is no tempo."),
    _field("musical_key", pa.string(), "pitch class",
           "Tonic of the best-matching key, one of C C# D Eb E F F# G Ab A Bb B; null when silent, "
           "too short, without pitched content (summed chroma std/mean < 0.1) or when key_confidence < 0.5."),
    _field("mode", pa.string(), "major | minor", "Mode of the best-matching key; null with key."),
    _field("key_confidence", pa.float64(), "Pearson r [0,1]",
           "Pearson correlation of the energy-weighted (summed magnitude) CQT chroma with the "
           "best of the 24 rotated Krumhansl-Kessler profiles, clipped at 0. Relative major/minor "
           "keys often score close. Null when silent, too short or the chroma is flat."),
    _field("loudness_lufs", pa.float64(), "LUFS",
           "Integrated loudness, ITU-R BS.1770 (pyloudnorm); null for clips under 0.4 s or fully gated."),
    _field("harmonic_ratio", pa.float64(), "fraction",
           "Share of the spectrogram energy in the harmonic part of a soft-mask HPSS "
           "(harmonic_ratio + percussive_ratio = 1); null when silent or too short."),
    _field("percussive_ratio", pa.float64(), "fraction",
           "Share of the spectrogram energy in the percussive part of the HPSS; null with harmonic_ratio."),
    _field("vocal_energy_ratio", pa.float64(), "fraction",
           "Share of the spectrogram energy in the separated vocal part (non-repeating harmonic "
           "voice-band foreground, REPET-SIM style); lead instruments count too. Measured only when "
           "the singing tag score could make has_vocals true (>= 0.29); null otherwise, see vocal_analysis."),
    _field("vocal_presence", pa.float64(), "score [0,1]",
           "0.7 x max singing-related tag score (Singing, Choir, Rapping, Vocal music, A capella, ...) "
           "+ 0.3 x min(vocal_energy_ratio / 0.3, 1); the tag score alone when vocal_energy_ratio is "
           "null; null when no tags are given."),
    _field("has_vocals", pa.bool_(), "flag", "vocal_presence >= 0.5 (false when vocal_presence is null)."),
    _field("vocal_analysis", pa.string(), "state",
           "Why vocal_energy_ratio is or is not measured: separated | no_singing_tags (singing tag "
           "score < 0.29, so no vocals whatever the energy) | no_tags | silent_or_short."),
    _field("genres", _LABEL_LIST, "tag score",
           "AudioSet 'Music genre' classes scoring above the label threshold, best first."),
    _field("moods", _LABEL_LIST, "tag score",
           "AudioSet 'Music mood' classes scoring above the label threshold, best first."),
    _field("instruments", _LABEL_LIST, "tag score",
           "AudioSet 'Musical instrument' classes scoring above the label threshold, best first."),
]

VOCAL_FIELDS: list[pa.Field] = [
    _field("vocal_transcript", pa.string(), "text",
           "Whisper transcript of the VAD regions of the separated vocals (when has_vocals; empty without voice activity)."),
    _field("vocal_language", pa.string(), "ISO 639-1", "Language of the sung words (when has_vocals)."),
    _field("vocal_speech_seconds", pa.float64(), "s", "Voice activity found in the separated vocals."),
]
