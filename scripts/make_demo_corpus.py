#!/usr/bin/env python3
"""Regenerate the built-in demo corpus in ``acav_assets/demo_corpus/``.

The corpus is a couple of dozen short clips that cover all eight ACAVCaps
domains (speech / music / other sound, written ``SMA`` with ``0`` for an absent
part).  Everything is synthesised locally and deterministically (fixed seeds):

* speech with espeak-ng in several languages,
* music and General MIDI sound effects with fluidsynth and the FluidR3_GM
  soundfont, from MIDI files built here with mido,
* the remaining sounds (rain, footsteps, alarm beeps, a passing siren, noise
  floor) with numpy.

Components are mixed in numpy at stated relative levels, on realistic timelines
in which every part of a clip's domain is clearly audible: each part either has
a stretch of at least 2 s to itself (a sound- or music-only lead-in before the
speech, a song that comes up when the host stops talking, applause after the
last chord) or sits within a few dB of the main source. Every clip (apart from
the two silence clips) is peak-normalised. ``scripts/check_demo_routing.py``
checks the result against the packaged YAMNet tagger and the default routing.

Usage::

    python scripts/make_demo_corpus.py [--out DIR]

Needs the Debian packages ``espeak-ng``, ``fluidsynth`` and ``fluid-soundfont-gm``.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import mido
import numpy as np
import soundfile as sf
from scipy import signal

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "acav_assets" / "demo_corpus"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

SR = 16_000  # rate of most clips
CLIP_SECONDS = 10.0  # the pipeline's clip length
LOSSLESS_PEAK_DBFS = -2.0
LOSSY_PEAK_DBFS = -3.0  # extra headroom for codec overshoot
MAX_WPM = 200  # faster espeak-ng speech sounds rushed
AUDIO_SUFFIXES = (".flac", ".wav", ".ogg", ".mp3")
DOMAINS = ("000", "00A", "0M0", "0MA", "S00", "S0A", "SM0", "SMA")
MANIFEST_HEADER = (
    "audio", "start", "end", "source_id", "title", "description",
    "tags", "license", "domain", "what",
)


# --------------------------------------------------------------------------
# Output formats and clip records
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """A soundfile container/codec pair."""

    suffix: str
    container: str
    subtype: str
    lossy: bool = False


FLAC = Format(".flac", "FLAC", "PCM_16")
WAV = Format(".wav", "WAV", "PCM_16")
OGG = Format(".ogg", "OGG", "VORBIS", lossy=True)
MP3 = Format(".mp3", "MP3", "MPEG_LAYER_III", lossy=True)


@dataclass
class Clip:
    """One corpus file plus its manifest row."""

    source_id: str
    domain: str
    audio: np.ndarray  # (samples,) or (samples, channels)
    sr: int
    fmt: Format
    title: str
    description: str
    tags: tuple[str, ...]
    license: str
    what: str
    start: float | None = None
    end: float | None = None
    normalise: bool = True
    n_clips: int = 1  # how many 10 s clips the pipeline gets from this file

    @property
    def filename(self) -> str:
        """File name relative to the manifest folder."""
        return self.source_id + self.fmt.suffix


def licence(speech: bool = False, soundfont: bool = False) -> str:
    """The licence note for a clip built from the given sources."""
    text = "CC0-1.0 (generated"
    if speech:
        text += "; speech synthesised with espeak-ng"
    text += ")"
    if soundfont:
        text += "; instruments/effects rendered with the FluidR3_GM soundfont (MIT)"
    return text


# --------------------------------------------------------------------------
# Signal helpers
# --------------------------------------------------------------------------


def db_gain(db: float) -> float:
    """Linear gain for a level in dB."""
    return float(10.0 ** (db / 20.0))


def rms(x: np.ndarray) -> float:
    """Root mean square of all samples."""
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def active_rms(x: np.ndarray, sr: int, frame_s: float = 0.05, floor_db: float = -30.0) -> float:
    """RMS over the 50 ms frames within ``floor_db`` of the loudest (ignores pauses)."""
    mono = to_mono(x)
    hop = max(1, int(sr * frame_s))
    n = len(mono) // hop
    if n == 0:
        return rms(mono)
    energy = np.mean(np.square(mono[: n * hop].reshape(n, hop)), axis=1)
    keep = energy >= energy.max() * db_gain(floor_db) ** 2
    return float(np.sqrt(np.mean(energy[keep])))


def to_mono(x: np.ndarray) -> np.ndarray:
    """Average channels of a (samples, channels) array."""
    return x.mean(axis=1) if x.ndim == 2 else x


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling along the time axis."""
    if sr_in == sr_out:
        return x
    ratio = Fraction(sr_out, sr_in)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=0)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad to ``n`` samples."""
    if len(x) >= n:
        return x[:n]
    pad = [(0, n - len(x))] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad)


def fade(x: np.ndarray, sr: int, fade_in: float = 0.02, fade_out: float = 0.02) -> np.ndarray:
    """Linear fade-in and fade-out."""
    y = x.copy()
    for seconds, rising in ((fade_in, True), (fade_out, False)):
        n = min(len(y), int(sr * seconds))
        if n == 0:
            continue
        ramp = np.linspace(0.0, 1.0, n) if rising else np.linspace(1.0, 0.0, n)
        if y.ndim == 2:
            ramp = ramp[:, None]
        if rising:
            y[:n] *= ramp
        else:
            y[-n:] *= ramp
    return y


def place(x: np.ndarray, total: int, offset: int) -> np.ndarray:
    """Put ``x`` into a silent buffer of ``total`` samples starting at ``offset``."""
    out = np.zeros((total,) + x.shape[1:])
    n = min(len(x), total - offset)
    out[offset : offset + n] = x[:n]
    return out


def level_curve(n: int, sr: int, points: Sequence[tuple[float, float]]) -> np.ndarray:
    """Per-sample linear gain through (seconds, dB) breakpoints, interpolated in dB, held at the ends."""
    times, dbs = zip(*points)
    return 10.0 ** (np.interp(np.arange(n) / sr, times, dbs) / 20.0)


Level = float | Sequence[tuple[float, float]]  # a constant dB, or (seconds, dB) breakpoints


def mix(reference: np.ndarray, sr: int, *layers: tuple[np.ndarray, Level]) -> np.ndarray:
    """Sum ``reference`` with layers whose active RMS sits ``level`` dB relative to it.

    ``level`` is a number, or a timeline of (seconds, dB) breakpoints (e.g. a music bed at 0 dB
    before the speech starts, ducked to -8 dB under it). The reference level is the active RMS of
    ``reference`` (its non-pause parts), so "0 dB" during a lead-in means "as loud as the voice
    will be"."""
    ref_level = active_rms(reference, sr)
    out = reference.copy()
    for layer, level in layers:
        gain = ref_level / active_rms(layer, sr)
        if isinstance(level, (int, float)):
            out += layer * (gain * db_gain(level))
        else:
            curve = level_curve(len(layer), sr, level)
            out += layer * (gain * (curve[:, None] if layer.ndim == 2 else curve))
    return out


def normalise_peak(x: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """Scale so the largest absolute sample is ``peak_dbfs``."""
    peak = float(np.max(np.abs(x)))
    return x * (db_gain(peak_dbfs) / peak) if peak > 0 else x


# --------------------------------------------------------------------------
# numpy sound sources
# --------------------------------------------------------------------------


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS 1/f noise, shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=float)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return noise / rms(noise)


def rain(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Steady rain: high-passed pink noise plus many small droplet ticks."""
    n = int(seconds * sr)
    hiss = signal.sosfilt(signal.butter(4, 600, "highpass", fs=sr, output="sos"), pink_noise(n, rng))
    hiss *= 1.0 + 0.15 * np.sin(2 * np.pi * 0.23 * np.arange(n) / sr)
    drops = np.zeros(n)
    tick_len = int(0.012 * sr)
    tick_env = np.exp(-np.arange(tick_len) / (0.002 * sr))
    for start in rng.integers(0, n - tick_len, size=int(60 * seconds)):
        tick = rng.uniform(0.3, 1.0) * tick_env * rng.standard_normal(tick_len)
        drops[start : start + tick_len] += tick
    band = signal.butter(2, (1500, min(6500, sr / 2 - 500)), "bandpass", fs=sr, output="sos")
    drops = signal.sosfilt(band, drops)
    return hiss / rms(hiss) + 0.6 * drops / (rms(drops) + 1e-12)


def footsteps(seconds: float, sr: int, rng: np.random.Generator, pace: float = 1.8,
              start: float = 0.25, rt60: float = 0.4) -> np.ndarray:
    """Hard-soled shoes on a hard floor: a sharp heel strike per step (a low-passed noise burst
    with a bright click), the two feet slightly different in level, in a corridor whose
    reverberation dies away in ``rt60`` seconds."""
    n = int(seconds * sr)
    out = np.zeros(n)
    heel_len = int(0.08 * sr)
    t_heel = np.arange(heel_len) / sr
    lowpass = signal.butter(2, 2500, "lowpass", fs=sr, output="sos")
    highpass = signal.butter(2, 2000, "highpass", fs=sr, output="sos")
    t, step = start, 0
    while t < seconds - 0.2:
        i = int(t * sr)
        heel = signal.sosfilt(lowpass, rng.standard_normal(heel_len)) * np.exp(-t_heel / 0.015)
        heel += 0.5 * signal.sosfilt(highpass, rng.standard_normal(heel_len)) * np.exp(-t_heel / 0.003)
        gain = rng.uniform(0.6, 1.0) * (1.0 if step % 2 else 0.8)
        out[i : i + heel_len] += gain * heel[: n - i]
        t += (1.0 / pace) * (1.0 + rng.uniform(-0.05, 0.05))
        step += 1
    tail = int(3 * rt60 * sr)  # room reverberation: exponentially decaying noise
    room = rng.standard_normal(tail) * np.exp(-np.arange(tail) / (rt60 / 6.9 * sr))
    wet = signal.fftconvolve(out, room)[:n]
    return out + 0.3 * wet * np.max(np.abs(out)) / (np.max(np.abs(wet)) + 1e-12)


def smoke_alarm(seconds: float, sr: int, freq: float = 3100.0) -> np.ndarray:
    """Smoke-alarm 'temporal three' pattern: three 0.5 s beeps, then a 1.5 s pause."""
    t = np.arange(int(seconds * sr)) / sr
    phase = (t - 0.2) % 4.0  # the pattern repeats every 4 s, starting at 0.2 s
    gate = ((t >= 0.2) & (phase < 3.0) & (phase % 1.0 < 0.5)).astype(float)
    smooth = np.hanning(int(0.01 * sr))  # 5 ms edges, no clicks
    gate = np.convolve(gate, smooth / smooth.sum(), mode="same")
    return np.sin(2 * np.pi * freq * t) * gate


def siren_passing(seconds: float, sr: int, rng: np.random.Generator, period: float = 4.0,
                  low: float = 650.0, high: float = 1550.0, speed: float = 15.0,
                  distance: float = 20.0) -> np.ndarray:
    """An emergency-vehicle 'wail' siren driving past at ``speed`` m/s, closest (``distance`` m)
    at mid-clip: the pitch glides between ``low`` and ``high`` every ``period`` s, with Doppler
    shift and 1/distance loudness, over a faint low street rumble."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    along = (t - seconds / 2) * speed  # metres past the closest point
    range_m = np.sqrt(along**2 + distance**2)
    freq = low + (high - low) * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))
    freq = freq * 343.0 / (343.0 + speed * along / range_m)  # Doppler: higher approaching
    phase = 2 * np.pi * np.cumsum(freq) / sr
    tone = sum(amp * np.sin(k * phase) for k, amp in ((1, 1.0), (2, 0.3), (3, 0.2), (4, 0.1)))
    tone *= distance / range_m
    rumble = signal.sosfilt(signal.butter(2, 300, "lowpass", fs=sr, output="sos"), pink_noise(n, rng))
    return tone + rumble * rms(tone) * db_gain(-25.0) / rms(rumble)


# --------------------------------------------------------------------------
# MIDI composition (mido) and rendering (fluidsynth)
# --------------------------------------------------------------------------

TICKS_PER_BEAT = 480
DRUMS = 9  # General MIDI "channel 10" (0-based 9)
KICK, RIM, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 39, 42, 44, 46
CRASH, RIDE, CASTANETS = 49, 51, 85
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)
PENTATONIC = (0, 2, 4, 7, 9)


@dataclass(frozen=True)
class Note:
    """A note, timed in beats."""

    start: float
    length: float
    pitch: int
    velocity: int = 90


@dataclass
class Part:
    """One instrument: a GM program on a channel, its notes and extra messages."""

    program: int
    channel: int
    notes: list[Note] = field(default_factory=list)
    volume: int = 100
    pan: int = 64
    extra: list[tuple[float, mido.Message]] = field(default_factory=list)  # (beat, message)


def scale_pitch(tonic: int, scale: Sequence[int], degree: int) -> int:
    """MIDI pitch of a scale degree (degrees past the octave wrap upwards)."""
    octave, step = divmod(degree, len(scale))
    return tonic + 12 * octave + scale[step]


def chord_degrees(root: int, size: int = 3) -> list[int]:
    """Scale degrees of a chord stacked in thirds on ``root``."""
    return [root + 2 * i for i in range(size)]


def chords_for(progression: Sequence[int], beats: float, beats_per_chord: float) -> list[int]:
    """Repeat a progression (root degrees) to cover ``beats``."""
    count = math.ceil(beats / beats_per_chord)
    return [progression[i % len(progression)] for i in range(count)]


def block_chords(chords: Sequence[int], tonic: int, scale: Sequence[int], bpc: float,
                 size: int = 3, velocity: int = 70, hits: Sequence[float] = (0.0,),
                 hit_len: float | None = None) -> list[Note]:
    """Chords struck at ``hits`` (beats into each chord); held to the next hit by default."""
    notes = []
    for i, root in enumerate(chords):
        for k, hit in enumerate(hits):
            length = hit_len or ((hits[k + 1] if k + 1 < len(hits) else bpc) - hit)
            for degree in chord_degrees(root, size):
                notes.append(Note(i * bpc + hit, length, scale_pitch(tonic, scale, degree), velocity))
    return notes


def arpeggio(chords: Sequence[int], tonic: int, scale: Sequence[int], bpc: float,
             step: float = 0.5, order: Sequence[int] = (0, 1, 2, 3, 2, 1),
             velocity: int = 72) -> list[Note]:
    """Broken chords: chord tones (index 3 = root an octave up) in ``order``."""
    notes = []
    for i, root in enumerate(chords):
        tones = chord_degrees(root) + [root + len(scale)]
        for k in range(int(bpc / step)):
            degree = tones[order[k % len(order)]]
            accent = 10 if k == 0 else 0
            pitch = scale_pitch(tonic, scale, degree)
            notes.append(Note(i * bpc + k * step, step * 1.6, pitch, velocity + accent))
    return notes


def strum(chords: Sequence[int], tonic: int, scale: Sequence[int], bpc: float,
          hits: Sequence[float], velocity: int = 80, spread: float = 0.03) -> list[Note]:
    """Guitar-like strums: chord tones plus the octave, slightly staggered."""
    notes = []
    for i, root in enumerate(chords):
        degrees = chord_degrees(root) + [root + len(scale), root + len(scale) + 2]
        for k, hit in enumerate(hits):
            end = hits[k + 1] if k + 1 < len(hits) else bpc
            for s, degree in enumerate(degrees):
                start = i * bpc + hit + s * spread
                pitch = scale_pitch(tonic, scale, degree)
                notes.append(Note(start, end - hit, pitch, velocity - (6 if k else 0)))
    return notes


def bass_line(chords: Sequence[int], tonic: int, scale: Sequence[int], bpc: float,
              pattern: Sequence[tuple[float, int]] = ((0.0, 0), (2.0, 4)),
              velocity: int = 90) -> list[Note]:
    """Bass notes at (beat, degree offset from the chord root) for every chord."""
    notes = []
    for i, root in enumerate(chords):
        for k, (beat, offset) in enumerate(pattern):
            end = pattern[k + 1][0] if k + 1 < len(pattern) else bpc
            pitch = scale_pitch(tonic, scale, root + offset)
            notes.append(Note(i * bpc + beat, (end - beat) * 0.9, pitch, velocity))
    return notes


def melody(rng: np.random.Generator, chords: Sequence[int], tonic: int, scale: Sequence[int],
           bpc: float, rhythm: Sequence[tuple[float, float]], velocity: int = 88) -> list[Note]:
    """A mostly stepwise tune: chord tones on each chord's first note, steps in between."""
    n = len(scale)
    low, high = n, 3 * n - 1  # keep within two octaves above the tonic
    current = n + n // 2
    notes = []
    for i, root in enumerate(chords):
        for offset, length in rhythm:
            if offset == 0.0:
                targets = [d + n * o for d in chord_degrees(root) for o in (1, 2)]
                targets.sort(key=lambda d: abs(d - current))
                current = int(rng.choice(targets[:2]))
            else:
                current += int(rng.choice([-2, -1, -1, 1, 1, 2]))
            current = min(high, max(low, current))
            accent = 8 if offset == 0.0 else 0
            pitch = scale_pitch(tonic, scale, current)
            notes.append(Note(i * bpc + offset, length * 0.95, pitch, velocity + accent))
    return notes


def drum_groove(bars: int, beats_per_bar: int, pattern: dict[int, Sequence[float]],
                velocity: int = 96, crash_every: int = 0) -> list[Note]:
    """Repeat a one-bar pattern (drum key -> beats in the bar); downbeats accented."""
    notes = []
    for bar in range(bars):
        base = bar * beats_per_bar
        for key, beats in pattern.items():
            for beat in beats:
                accent = 0 if float(beat).is_integer() else -14
                notes.append(Note(base + beat, 0.25, key, velocity + accent))
        if crash_every and bar % crash_every == 0:
            notes.append(Note(base, 1.0, CRASH, velocity))
    return notes


def build_midi(parts: Sequence[Part], bpm: float, beats: float, beats_per_bar: int = 4) -> mido.MidiFile:
    """A type-1 MIDI file: a conductor track plus one track per part."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4, time=0))
    conductor.append(mido.MetaMessage("end_of_track", time=round(beats * TICKS_PER_BEAT)))
    mid.tracks.append(conductor)

    for part in parts:
        ch = part.channel
        events: list[tuple[int, int, mido.Message]] = [
            (0, 0, mido.Message("program_change", program=part.program, channel=ch)),
            (0, 0, mido.Message("control_change", control=7, value=part.volume, channel=ch)),
            (0, 0, mido.Message("control_change", control=10, value=part.pan, channel=ch)),
        ]
        for beat, message in part.extra:
            events.append((round(beat * TICKS_PER_BEAT), 1, message.copy(channel=ch)))
        for note in part.notes:
            if note.start >= beats:
                continue
            on = round(note.start * TICKS_PER_BEAT)
            off = max(on + 1, round(min(note.start + note.length, beats) * TICKS_PER_BEAT))
            velocity = int(min(127, max(1, note.velocity)))
            events.append((on, 2, mido.Message("note_on", note=note.pitch, velocity=velocity, channel=ch)))
            events.append((off, 0, mido.Message("note_off", note=note.pitch, channel=ch)))
        events.sort(key=lambda e: (e[0], e[1]))  # note-offs before note-ons at the same tick
        track = mido.MidiTrack()
        now = 0
        for tick, _, message in events:
            track.append(message.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    return mid


def ramp(control: int, start_beat: float, end_beat: float, start: int, end: int,
         steps: int = 32) -> list[tuple[float, mido.Message]]:
    """A controller sweep (e.g. CC11 expression, CC10 pan) as (beat, message) pairs."""
    out = []
    for k in range(steps + 1):
        frac = k / steps
        message = mido.Message("control_change", control=control, value=round(start + (end - start) * frac))
        out.append((start_beat + (end_beat - start_beat) * frac, message))
    return out


# --------------------------------------------------------------------------
# External tools
# --------------------------------------------------------------------------


def check_tools() -> None:
    """Exit with a clear message when a required program, soundfont or codec is missing."""
    missing = []
    for exe, package in (("espeak-ng", "espeak-ng"), ("fluidsynth", "fluidsynth")):
        if shutil.which(exe) is None:
            missing.append(f"program '{exe}' (Debian package '{package}')")
    if not SOUNDFONT.is_file():
        missing.append(f"soundfont {SOUNDFONT} (Debian package 'fluid-soundfont-gm')")
    formats = sf.available_formats()
    for container in ("FLAC", "OGG", "MP3"):
        if container not in formats:
            missing.append(f"{container} support in libsndfile (needs libsndfile >= 1.1)")
    if missing:
        sys.exit("make_demo_corpus: cannot run, missing:\n  - " + "\n  - ".join(missing))


def run_tool(args: Sequence[str]) -> None:
    """Run an external program (check=True), surfacing its stderr if it fails."""
    try:
        subprocess.run(args, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(f"{args[0]} failed (exit {err.returncode}): {err.stderr.strip()}") from err


class Synth:
    """Runs espeak-ng and fluidsynth, keeping intermediates in a scratch folder."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._count = 0

    def _scratch(self, suffix: str) -> Path:
        self._count += 1
        return self.workdir / f"tmp{self._count:03d}{suffix}"

    def _espeak(self, voice: str, text: str, speed: int) -> tuple[np.ndarray, int]:
        wav = self._scratch(".wav")
        run_tool(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text])
        audio, sr = sf.read(wav, dtype="float64")
        return to_mono(audio), sr

    def speak(self, voice: str, text: str, sr: int, max_seconds: float, speed: int = 165) -> np.ndarray:
        """Synthesise ``text`` trimmed of edge silence, spoken faster if longer than ``max_seconds``."""
        audio, native_sr = self._espeak(voice, text, speed)
        if len(audio) / native_sr > max_seconds:
            speed = math.ceil(speed * len(audio) / native_sr / max_seconds * 1.03)
            if speed > MAX_WPM:
                raise ValueError(f"{text!r} needs {speed} wpm to fit {max_seconds} s "
                                 f"(max {MAX_WPM}); shorten it")
            audio, native_sr = self._espeak(voice, text, speed)
        loud = np.flatnonzero(np.abs(audio) > 0.01 * np.max(np.abs(audio)))
        margin = int(0.05 * native_sr)
        audio = audio[max(0, loud[0] - margin) : loud[-1] + margin]
        audio = resample(audio, native_sr, sr)
        return audio / np.max(np.abs(audio))

    def render(self, parts: Sequence[Part], bpm: float, seconds: float, sr: int,
               beats_per_bar: int = 4, stereo: bool = False, fade_out: float = 0.3) -> np.ndarray:
        """Render parts with fluidsynth + FluidR3_GM to exactly ``seconds`` of audio."""
        beats = seconds * bpm / 60.0 + 1.0  # play a little past the cut so nothing dies away early
        midi_path, wav_path = self._scratch(".mid"), self._scratch(".wav")
        build_midi(parts, bpm, beats, beats_per_bar).save(midi_path)
        # -n/-i: no MIDI input, no shell; -F: render the file faster than real time; float avoids clipping
        run_tool(["fluidsynth", "-n", "-i", "-q", "-g", "0.6", "-r", str(sr), "-O", "float",
                  "-F", str(wav_path), str(SOUNDFONT), str(midi_path)])
        audio, rendered_sr = sf.read(wav_path, dtype="float64", always_2d=True)
        if rendered_sr != sr:
            raise RuntimeError(f"fluidsynth rendered at {rendered_sr} Hz, asked for {sr} Hz")
        audio = fit_length(audio, int(round(seconds * sr)))
        audio = fade(audio, sr, fade_in=0.0, fade_out=fade_out)
        return audio if stereo else to_mono(audio)


# --------------------------------------------------------------------------
# Songs (music beds) and GM sound effects
# --------------------------------------------------------------------------


def song_piano(synth: Synth, seconds: float, sr: int, seed: int) -> np.ndarray:
    """Solo piano ballad in C major, 92 bpm: arpeggiated left hand, melody right hand."""
    rng = np.random.default_rng(seed)
    bpm, bpc, tonic = 92, 4.0, 48
    chords = chords_for((0, 4, 5, 3), seconds * bpm / 60 + 1, bpc)  # I V vi IV
    rhythm = ((0.0, 1.5), (1.5, 0.5), (2.0, 1.0), (3.0, 0.5), (3.5, 0.5))
    parts = [
        Part(0, 0, arpeggio(chords, tonic, MAJOR, bpc, velocity=64), pan=52),
        Part(0, 1, melody(rng, chords, tonic, MAJOR, bpc, rhythm, velocity=90), pan=76),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_guitar_strings(synth: Synth, seconds: float, sr: int) -> np.ndarray:
    """Nylon guitar arpeggios over a string-ensemble pad, A minor, 76 bpm."""
    bpm, bpc, tonic = 76, 2.0, 45
    chords = chords_for((0, 5, 2, 6), seconds * bpm / 60 + 1, bpc)  # i VI III VII
    parts = [
        Part(24, 0, arpeggio(chords, tonic + 12, MINOR, bpc, 1 / 3, (0, 1, 2), velocity=84), pan=40),
        Part(48, 1, block_chords(chords, tonic + 12, MINOR, bpc, velocity=58), volume=90, pan=90),
        Part(48, 2, bass_line(chords, tonic - 12, MINOR, bpc, ((0.0, 0),), velocity=60), volume=80),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_band(synth: Synth, seconds: float, sr: int, seed: int) -> np.ndarray:
    """Pop-rock band in G major, 120 bpm: drums, bass, acoustic guitar, electric-piano lead."""
    rng = np.random.default_rng(seed)
    bpm, bpc, tonic = 120, 4.0, 43
    beats = seconds * bpm / 60 + 1
    chords = chords_for((0, 3, 5, 4), beats, bpc)  # I IV vi V
    rock = {KICK: (0, 1.5, 2), SNARE: (1, 3), CLOSED_HAT: tuple(k / 2 for k in range(8))}
    lead_rhythm = ((0.0, 1.0), (1.0, 0.5), (1.5, 0.5), (2.0, 1.5), (3.5, 0.5))
    parts = [
        Part(0, DRUMS, drum_groove(math.ceil(beats / 4), 4, rock, crash_every=4), volume=110),
        Part(33, 1, bass_line(chords, tonic - 12, MAJOR, bpc, ((0, 0), (1.5, 0), (2, 4), (3, 2)), 100)),
        Part(25, 2, strum(chords, tonic + 12, MAJOR, bpc, (0, 1, 1.5, 2.5, 3), 72), volume=95, pan=36),
        Part(4, 3, melody(rng, chords, tonic + 12, MAJOR, bpc, lead_rhythm, velocity=92), pan=88),
    ]
    return synth.render(parts, bpm, seconds, sr, fade_out=0.05)


def song_jazz_trio(synth: Synth, seconds: float, sr: int) -> np.ndarray:
    """Swinging jazz trio in B-flat, 132 bpm: piano comping, walking bass, ride cymbal."""
    bpm, bpc, tonic = 132, 4.0, 46
    chords = chords_for((1, 4, 0, 5), seconds * bpm / 60 + 1, bpc)  # ii V I vi
    walk = ((0.0, 0), (1.0, 2), (2.0, 4), (3.0, 5))
    swing = {RIDE: (0, 1, 1.67, 2, 3, 3.67), PEDAL_HAT: (1, 3), KICK: (0,)}
    parts = [
        Part(0, 0, block_chords(chords, tonic + 12, MAJOR, bpc, 4, 66, hits=(0.0, 1.67, 3.0), hit_len=0.6)),
        Part(32, 1, bass_line(chords, tonic - 12, MAJOR, bpc, walk, velocity=100), pan=54),
        Part(0, DRUMS, drum_groove(len(chords), 4, swing, velocity=80), volume=90, pan=74),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_rock_live(synth: Synth, seconds: float, sr: int, bars: int | None = None) -> np.ndarray:
    """Loud rock band in E, 128 bpm: overdriven power chords, picked bass, drums.

    With ``bars``, the band plays that many bars and then ends the song on one long E5 chord
    with a crash (the rest of the ``seconds`` is that chord ringing out)."""
    bpm, bpc, tonic = 128, 4.0, 40
    beats = seconds * bpm / 60 + 1
    chords = chords_for((0, 5, 3, 4), beats if bars is None else bars * bpc, bpc)  # E5 C5 A5 B5
    power = []  # root, fifth and octave, struck in a driving rhythm
    for i, root in enumerate(chords):
        low = scale_pitch(tonic + 12, MINOR, root)
        for hit in (0, 1, 2, 2.5, 3.5):
            for pitch in (low, low + 7, low + 12):
                power.append(Note(i * bpc + hit, 0.45, pitch, 100))
    rock = {KICK: (0, 0.5, 2, 2.5), SNARE: (1, 3), OPEN_HAT: tuple(k / 2 for k in range(8))}
    bass = bass_line(chords, tonic, MINOR, bpc, tuple((k / 2, 0) for k in range(8)), 100)
    drums = drum_groove(len(chords), 4, rock, velocity=110, crash_every=2)
    if bars is not None:
        end, held = bars * bpc, 3.0  # the final chord, held for three beats, then rings out
        low = scale_pitch(tonic + 12, MINOR, 0)
        power += [Note(end, held, pitch, 110) for pitch in (low, low + 7, low + 12)]
        bass.append(Note(end, held, tonic, 105))
        drums += [Note(end, 2.0, CRASH, 120), Note(end, 0.5, KICK, 120)]
    parts = [
        Part(29, 0, power, volume=105, pan=44),
        Part(34, 1, bass),
        Part(0, DRUMS, drums, volume=115),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_lofi(synth: Synth, seconds: float, sr: int) -> np.ndarray:
    """Mellow electric-piano groove in D major, 84 bpm, for a podcast intro."""
    bpm, bpc, tonic = 84, 4.0, 50
    beats = seconds * bpm / 60 + 1
    chords = chords_for((0, 5, 1, 4), beats, bpc)  # I vi ii V (sevenths)
    groove = {KICK: (0, 2.5), RIM: (1, 3), CLOSED_HAT: tuple(k / 2 for k in range(8))}
    parts = [
        Part(4, 0, block_chords(chords, tonic + 12, MAJOR, bpc, size=4, velocity=70, hits=(0.0, 2.5))),
        Part(32, 1, bass_line(chords, tonic - 12, MAJOR, bpc, ((0, 0), (2.5, 0), (3.5, 4)), 95)),
        Part(0, DRUMS, drum_groove(math.ceil(beats / 4), 4, groove, velocity=78), volume=95),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_pentatonic(synth: Synth, seconds: float, sr: int, seed: int) -> np.ndarray:
    """Calm flute melody over harp and strings, E major pentatonic, 70 bpm."""
    rng = np.random.default_rng(seed)
    bpm, bpc, tonic = 70, 4.0, 52
    chords = chords_for((0, 3, 1, 4), seconds * bpm / 60 + 1, bpc)
    rhythm = ((0.0, 1.5), (1.5, 0.5), (2.0, 2.0))
    parts = [
        Part(73, 0, melody(rng, chords, tonic + 12, PENTATONIC, bpc, rhythm, velocity=92), pan=70),
        Part(46, 1, arpeggio(chords, tonic, PENTATONIC, bpc, step=0.5, velocity=70), pan=44),
        Part(48, 2, block_chords(chords, tonic, PENTATONIC, bpc, velocity=52), volume=85),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_flamenco(synth: Synth, seconds: float, sr: int) -> np.ndarray:
    """Spanish-style nylon guitar strumming (Andalusian cadence, E Phrygian), 100 bpm, with castanets."""
    bpm, bpc, tonic = 100, 2.0, 52
    beats = seconds * bpm / 60 + 1
    chords = chords_for((3, 2, 1, 0), beats, bpc)  # Am G F E
    palmas = {CASTANETS: (0, 0.5, 1, 1.5, 1.75, 2.5, 3, 3.5), CLAP: (1, 3)}
    parts = [
        Part(24, 0, strum(chords, tonic, PHRYGIAN, bpc, (0, 0.5, 1, 1.5), velocity=92, spread=0.02)),
        Part(0, DRUMS, drum_groove(math.ceil(beats / 4), 4, palmas, velocity=70), volume=80, pan=80),
    ]
    return synth.render(parts, bpm, seconds, sr)


def song_accordion_waltz(synth: Synth, seconds: float, sr: int, seed: int,
                         bars: int | None = None) -> np.ndarray:
    """Musette waltz in F major, 3/4 at 150 bpm: accordion melody with oom-pah-pah.

    With ``bars``, the waltz plays that many bars and ends on a held F major chord."""
    rng = np.random.default_rng(seed)
    bpm, bpc, tonic = 150, 3.0, 53
    beats = seconds * bpm / 60 + 1 if bars is None else bars * bpc
    chords = chords_for((0, 4, 4, 0, 3, 0, 4, 0), beats, bpc)
    rhythm = ((0.0, 1.0), (1.0, 0.5), (1.5, 0.5), (2.0, 1.0))
    tune = melody(rng, chords, tonic + 12, MAJOR, bpc, rhythm, velocity=96)
    comp = block_chords(chords, tonic + 12, MAJOR, bpc, 3, 62, hits=(1.0, 2.0), hit_len=0.5)
    bass = bass_line(chords, tonic - 12, MAJOR, bpc, ((0.0, 0),), velocity=80)
    if bars is not None:
        end, held = bars * bpc, 2.0
        tune.append(Note(end, held, tonic + 24, 100))
        comp += [Note(end, held, scale_pitch(tonic + 12, MAJOR, d), 70) for d in chord_degrees(0)]
        bass.append(Note(end, held, tonic - 12, 85))
    parts = [Part(21, 0, tune, pan=60), Part(21, 1, comp), Part(21, 2, bass)]
    return synth.render(parts, bpm, seconds, sr, beats_per_bar=3)


SECONDS_PER_BEAT_60 = 60  # GM effect parts below use 60 bpm, so beats == seconds


def gm_birds(synth: Synth, seconds: float, sr: int, seed: int, stereo: bool = False) -> np.ndarray:
    """Two songbirds (GM 123 Bird Tweet), one left and one right, chirping in bursts."""
    rng = np.random.default_rng(seed)
    parts = []
    for channel, pan in ((0, 28), (1, 100)):
        notes, t = [], rng.uniform(0.0, 0.5)
        while t < seconds - 0.3:
            pitch = int(rng.integers(66, 84))
            for k in range(int(rng.integers(2, 6))):  # a phrase of quick chirps
                notes.append(Note(t, 0.12, pitch + int(rng.integers(-2, 3)), int(rng.integers(80, 120))))
                t += rng.uniform(0.12, 0.2)
            t += rng.uniform(0.3, 1.0)
        parts.append(Part(123, channel, notes, pan=pan))
    return synth.render(parts, SECONDS_PER_BEAT_60, seconds, sr, stereo=stereo)


def gm_applause(synth: Synth, seconds: float, sr: int, swell: bool = True, start: float = 0.0,
                fade_out: bool = True) -> np.ndarray:
    """A crowd applauding (GM 126, several layered voices) from ``start``; with ``swell`` it
    rises over its first second and (with ``fade_out``) eases off over the last 1.5 s."""
    notes = [Note(start + 0.05 * k, seconds + 1, pitch, 110) for k, pitch in enumerate((57, 60, 62, 65))]
    extra = []
    if swell:
        extra += ramp(11, start, start + 1.0, 50, 127)
        if fade_out:
            extra += ramp(11, seconds - 1.5, seconds, 127, 60)
    return synth.render([Part(126, 0, notes, extra=extra)], SECONDS_PER_BEAT_60, seconds, sr)


def gm_telephone(synth: Synth, seconds: float, sr: int, rings: Sequence[float]) -> np.ndarray:
    """A telephone (GM 124) ringing for 2 s at each time in ``rings``."""
    notes = [Note(t, 2.0, 60, 115) for t in rings]
    return synth.render([Part(124, 0, notes)], SECONDS_PER_BEAT_60, seconds, sr, fade_out=0.05)


def gm_seashore(synth: Synth, seconds: float, sr: int) -> np.ndarray:
    """Waves on a beach (GM 122 Seashore), two voices swelling out of step."""
    notes = [Note(0.0, seconds + 1, 60, 110), Note(2.5, seconds, 55, 100)]
    extra = []
    for k in range(int(seconds / 4) + 1):
        start = 4.0 * k
        extra += ramp(11, start, start + 2.0, 70, 127, 8) + ramp(11, start + 2.0, start + 4.0, 127, 70, 8)
    return synth.render([Part(122, 0, notes, extra=extra)], SECONDS_PER_BEAT_60, seconds, sr)


# --------------------------------------------------------------------------
# The clips
# --------------------------------------------------------------------------


def speech_clip(synth: Synth, voice: str, text: str, sr: int = SR, max_seconds: float = 9.0,
                lead_in: float = 0.4, tail: float = 0.4) -> np.ndarray:
    """Speech placed in a clip just long enough for it (``lead_in`` + speech + ``tail``)."""
    speech = synth.speak(voice, text, sr, max_seconds)
    total = len(speech) + int((lead_in + tail) * sr)
    return place(speech, total, int(lead_in * sr))


def seconds_of(x: np.ndarray, sr: int) -> float:
    """Duration in seconds."""
    return len(x) / sr


def clip_silence(synth: Synth) -> Clip:
    """000: ten seconds of digital silence."""
    return Clip(
        "demo-silence-01", "000", np.zeros(int(10 * SR)), SR, FLAC,
        title="Untitled recording 3",
        description="Phone recording, nothing happening.",
        tags=("recording", "untitled"), license=licence(),
        what="10 s of digital silence (all samples zero).", normalise=False,
    )


def clip_room_tone(synth: Synth) -> Clip:
    """000: a very quiet pink-noise floor at about -75 dBFS RMS."""
    rng = np.random.default_rng(1001)
    floor = pink_noise(int(8 * SR), rng) * db_gain(-75.0)
    return Clip(
        "demo-room-tone-01", "000", floor, SR, FLAC,
        title="Room tone - empty studio",
        description="Eight seconds of room tone from an empty, treated studio, for noise-print reference.",
        tags=("room tone", "silence", "ambience"), license=licence(),
        what="Near-silence: a steady pink-noise floor at about -75 dBFS RMS, no events.", normalise=False,
    )


def clip_birds(synth: Synth) -> Clip:
    """00A: stereo birdsong, 44.1 kHz WAV."""
    audio = gm_birds(synth, 2.5, 44_100, seed=2001, stereo=True)
    return Clip(
        "demo-birds-01", "00A", fade(audio, 44_100), 44_100, WAV,
        title="Birds in the garden at dawn",
        description="Two small birds calling to each other, recorded in stereo.",
        tags=("birds", "birdsong", "nature", "field recording"), license=licence(soundfont=True),
        what="Bird chirps (GM Bird Tweet, 123): two birds, one panned left and one right, "
             "chirping in short phrases throughout. 2.5 s, 44.1 kHz stereo.",
    )


def clip_siren(synth: Synth) -> Clip:
    """00A: an ambulance siren driving past."""
    audio = siren_passing(8.0, SR, np.random.default_rng(2002))
    return Clip(
        "demo-siren-01", "00A", fade(audio, SR), SR, FLAC,
        title="Ambulance going past",
        description="An ambulance with its siren on drives past on the street below the window.",
        tags=("siren", "ambulance", "emergency vehicle", "street"), license=licence(),
        what="An emergency-vehicle 'wail' siren (numpy: a tone with harmonics gliding between 650 and "
             "1550 Hz and back every 4 s) driving past at about 15 m/s: it grows louder as it approaches, "
             "is closest at 4 s, then fades, its pitch dropping slightly as it passes (Doppler); a faint "
             "low street rumble about 25 dB down. No speech or music.",
    )


def clip_applause(synth: Synth) -> Clip:
    """00A: applause."""
    audio = gm_applause(synth, 6.0, SR)
    return Clip(
        "demo-applause-01", "00A", fade(audio, SR), SR, FLAC,
        title="Audience applause after the talk",
        description="The audience claps at the end of a conference talk.",
        tags=("applause", "clapping", "crowd", "audience"), license=licence(soundfont=True),
        what="A crowd applauding (GM Applause, 126, four layered voices) for the whole clip, "
             "rising over the first second and easing off at the end. No speech or music.",
    )


def clip_smoke_alarm(synth: Synth) -> Clip:
    """00A: smoke-alarm beeps in a quiet room."""
    rng = np.random.default_rng(2004)
    n = int(7.0 * SR)
    beeps = smoke_alarm(7.0, SR)
    room = pink_noise(n, rng) * db_gain(-55.0)
    return Clip(
        "demo-smoke-alarm-01", "00A", fade(beeps + room, SR), SR, FLAC,
        title="Smoke detector going off",
        description="Kitchen smoke alarm beeping, nobody home.",
        tags=("smoke detector", "alarm", "beep"), license=licence(),
        what="A smoke alarm beeping a 3100 Hz tone in the 'temporal three' pattern "
             "(three 0.5 s beeps, 1.5 s pause, repeated) over a faint room noise about 55 dB down.",
    )


def clip_piano(synth: Synth) -> Clip:
    """0M0: solo piano."""
    return Clip(
        "demo-piano-01", "0M0", fade(song_piano(synth, 8.0, SR, seed=3001), SR), SR, FLAC,
        title="Quiet piano improvisation in C",
        description="Solo piano, a short calm improvisation over four chords.",
        tags=("piano", "solo piano", "instrumental", "calm"), license=licence(soundfont=True),
        what="Solo acoustic grand piano (GM 0) in C major at 92 bpm: arpeggiated left hand over "
             "I-V-vi-IV with a simple right-hand melody, for the whole 8 s.",
    )


def clip_guitar_strings(synth: Synth) -> Clip:
    """0M0: nylon guitar and strings at 48 kHz."""
    sr = 48_000
    return Clip(
        "demo-guitar-strings-01", "0M0", fade(song_guitar_strings(synth, 6.0, sr), sr), sr, FLAC,
        title="Nocturne for guitar and strings",
        description="Classical guitar arpeggios with a string ensemble, A minor.",
        tags=("classical guitar", "strings", "instrumental", "48kHz"), license=licence(soundfont=True),
        what="Nylon-string guitar (GM 24) arpeggios over a string-ensemble pad (GM 48), A minor "
             "(i-VI-III-VII) at 76 bpm, 6 s. 48 kHz mono FLAC.",
    )


def clip_band_long(synth: Synth) -> Clip:
    """0M0: a 20 s band recording the pipeline splits into two 10 s clips."""
    audio = fade(song_band(synth, 20.0, SR, seed=3003), SR, fade_out=0.3)
    return Clip(
        "demo-band-long-01", "0M0", audio, SR, FLAC,
        title="Sunday Drive (full take)",
        description="Full take of an upbeat pop-rock instrumental, rehearsal room.",
        tags=("pop", "rock", "band", "instrumental", "drums", "guitar"), license=licence(soundfont=True),
        what="20 s pop-rock instrumental in G major at 120 bpm: drum kit on channel 10 (kick, snare, "
             "hi-hat, crash), fingered bass (GM 33), strummed steel-string guitar (GM 25) and an "
             "electric-piano lead (GM 4), playing throughout. No start/end: the pipeline cuts it into "
             "two consecutive 10 s clips (0-10 s and 10-20 s), both music only.",
        n_clips=2,
    )


def clip_jazz_phone(synth: Synth) -> Clip:
    """0MA: jazz trio with a telephone ringing over it."""
    seconds = 8.0
    music = song_jazz_trio(synth, seconds, SR)
    phone = gm_telephone(synth, seconds, SR, rings=(1.5, 5.5))
    return Clip(
        "demo-jazz-phone-01", "0MA", fade(mix(music, SR, (phone, -2.0)), SR), SR, FLAC,
        title="Jazz night at the bar",
        description="Trio playing a standard; somebody's phone keeps ringing.",
        tags=("jazz", "piano trio", "live", "telephone"), license=licence(soundfont=True),
        what="Jazz trio in B-flat at 132 bpm (piano comping GM 0, walking acoustic bass GM 32, ride "
             "cymbal and hi-hat on channel 10) for the whole clip, with a telephone (GM 124) ringing "
             "at 1.5-3.5 s and 5.5-7.5 s, about 2 dB below the music.",
    )


def clip_rock_applause(synth: Synth) -> Clip:
    """0MA: the end of a live rock song and the audience cheering it."""
    seconds, bars = CLIP_SECONDS, 3  # 3 bars at 128 bpm = 5.6 s, then the last chord
    music = song_rock_live(synth, seconds, SR, bars=bars)
    last_chord = bars * 4 * 60 / 128
    crowd = gm_applause(synth, seconds, SR, swell=False)
    ovation = gm_applause(synth, seconds, SR, start=last_chord + 0.2, fade_out=False)
    audio = mix(music, SR, (crowd, -14.0), (ovation, -2.0))
    return Clip(
        "demo-rock-live-01", "0MA", fade(audio, SR), SR, FLAC,
        title="Encore - live at the Roxy",
        description="Audience recording of the encore, crowd going wild.",
        tags=("rock", "live", "concert", "crowd", "applause"), license=licence(soundfont=True),
        what="The end of a rock song played live: a band in E at 128 bpm (overdriven guitar power chords "
             "GM 29, picked bass GM 34, drum kit on channel 10 with crashes) plays for "
             f"{last_chord:.1f} s and ends on a final E5 chord with a crash, held for three beats and "
             "then ringing out. Scattered audience applause (GM 126) about 14 dB below the band "
             f"throughout; at {last_chord + 0.2:.1f} s the whole audience bursts into applause, rising over a "
             "second to about 2 dB below the band's level and going on to the end of the 10 s clip.",
    )


EN_TEXT = ("Good morning, and welcome to the city library. The reading room on the second floor "
           "is open until eight o'clock tonight, and the café closes at six.")
FR_TEXT = ("Bonjour à tous. Le train à destination de Lyon partira du quai numéro trois "
           "dans dix minutes. Merci de votre attention et bon voyage à tous.")
DE_TEXT = ("Heute Abend gibt es in der Altstadt ein kleines Konzert. Der Eintritt ist frei, "
           "aber bitte bringen Sie eine warme Jacke mit, denn es wird kalt.")
ES_LONG_TEXT = ("Hola a todos y bienvenidos a la clase de hoy. Vamos a hablar del ciclo del agua: "
                "la evaporación, la condensación y la precipitación. Después haremos un pequeño "
                "experimento con una botella.")
CMN_TEXT = "大家好，欢迎收听天气预报。明天北京晴，气温二十五度。"


def clip_speech_en(synth: Synth) -> Clip:
    """S00: English announcement."""
    audio = speech_clip(synth, "en-us", EN_TEXT)
    return Clip(
        "demo-speech-en-01", "S00", audio, SR, FLAC,
        title="Library opening hours announcement",
        description="Recorded announcement played at the entrance of the public library.",
        tags=("announcement", "speech", "english"), license=licence(speech=True),
        what=f"One male voice (espeak-ng, en-us), English, speaking: \"{EN_TEXT}\" Nothing else.",
    )


def clip_speech_fr(synth: Synth) -> Clip:
    """S00: French station announcement, MP3."""
    audio = speech_clip(synth, "fr-fr+f3", FR_TEXT)
    return Clip(
        "demo-speech-fr-01", "S00", audio, SR, MP3,
        title="Annonce en gare - train pour Lyon",
        description="Annonce de départ enregistrée en gare.",
        tags=("annonce", "gare", "français", "speech"), license=licence(speech=True),
        what=f"One female voice (espeak-ng, fr-fr+f3), French, speaking: \"{FR_TEXT}\" "
             "Nothing else. MP3.",
    )


def clip_speech_de_mislabelled(synth: Synth) -> Clip:
    """S00: German speech whose metadata wrongly says piano music."""
    audio = speech_clip(synth, "de+m3", DE_TEXT)
    return Clip(
        "demo-speech-de-01", "S00", audio, SR, FLAC,
        title="Piano Sonata No. 2 - live recording",
        description="Solo piano, second movement, recorded live in the old town hall.",
        tags=("piano", "classical", "sonata", "live"), license=licence(speech=True),
        what=f"One male voice (espeak-ng, de+m3), German, speaking: \"{DE_TEXT}\" No music at all: "
             "the title, description and tags deliberately (wrongly) claim a piano recording.",
    )


def clip_speech_es_window(synth: Synth) -> Clip:
    """S00: a longer Spanish lecture excerpt of which the row selects 2.0-9.5 s."""
    audio = speech_clip(synth, "es", ES_LONG_TEXT, max_seconds=11.0)
    return Clip(
        "demo-speech-es-01", "S00", audio, SR, FLAC,
        title="Clase de ciencias: el ciclo del agua",
        description="Introducción de una clase de ciencias naturales para secundaria.",
        tags=("clase", "educación", "español", "speech"), license=licence(speech=True),
        what=f"One male voice (espeak-ng, es), Spanish, speaking: \"{ES_LONG_TEXT}\" The file is "
             f"{seconds_of(audio, SR):.1f} s long; the row uses only the window 2.0-9.5 s, which is "
             "speech throughout.",
        start=2.0, end=9.5,
    )


def clip_speech_cmn(synth: Synth) -> Clip:
    """S00: Mandarin weather forecast."""
    audio = speech_clip(synth, "cmn", CMN_TEXT)
    return Clip(
        "demo-speech-cmn-01", "S00", audio, SR, FLAC,
        title="天气预报 (weather forecast)",
        description="Short radio weather forecast in Mandarin.",
        tags=("weather", "radio", "mandarin", "speech"), license=licence(speech=True),
        what=f"One voice (espeak-ng, cmn), Mandarin Chinese, speaking: \"{CMN_TEXT}\" "
             "(\"Hello everyone, welcome to the weather forecast. Tomorrow Beijing will be sunny, "
             "temperature twenty-five degrees.\") Nothing else.",
    )


EN_RAIN_TEXT = ("It has been raining all afternoon, so the football match has been postponed "
                "until Sunday. Please check the club website.")
IT_TEXT = ("Sto camminando verso la stazione adesso. Arrivo tra cinque minuti, "
           "aspettami davanti alla biglietteria, per favore.")
PT_TEXT = ("Atenção, por favor. O alarme de incêndio foi ativado. "
           "Dirijam-se calmamente para a saída mais próxima.")


RAIN_DB = -18.0  # rain relative to the voice


def clip_speech_rain(synth: Synth) -> Clip:
    """S0A: English voice memo in the rain: 2.2 s of rain, then speech 18 dB above it."""
    lead_in = 2.2
    speech = speech_clip(synth, "en-gb+m2", EN_RAIN_TEXT, max_seconds=CLIP_SECONDS - lead_in - 0.4,
                         lead_in=lead_in)
    bed = rain(seconds_of(speech, SR), SR, np.random.default_rng(5001))
    return Clip(
        "demo-speech-rain-en-01", "S0A", fade(mix(speech, SR, (bed, RAIN_DB)), SR), SR, FLAC,
        title="Match postponed - voice memo",
        description="Voice memo for the team, recorded outside under the shelter.",
        tags=("voice memo", "football", "rain", "outdoors"), license=licence(speech=True),
        what="Steady rain (filtered noise with droplet ticks) for the whole clip, alone for the first "
             f"{lead_in:.1f} s; then one male voice (espeak-ng, en-gb+m2), English, speaking: "
             f"\"{EN_RAIN_TEXT}\" Speech about {-RAIN_DB:.0f} dB above the rain.",
    )


def clip_speech_footsteps(synth: Synth) -> Clip:
    """S0A: Italian voice message while walking: 2.5 s of footsteps, then speech 10 dB above them."""
    lead_in = 2.5
    speech = speech_clip(synth, "it+f2", IT_TEXT, max_seconds=CLIP_SECONDS - lead_in - 0.4, lead_in=lead_in)
    steps = footsteps(seconds_of(speech, SR), SR, np.random.default_rng(5002))
    return Clip(
        "demo-speech-steps-it-01", "S0A", fade(mix(speech, SR, (steps, -10.0)), SR), SR, FLAC,
        title="Messaggio vocale - sto arrivando",
        description="Vocale inviato camminando nel corridoio della stazione.",
        tags=("messaggio vocale", "italiano", "passi"), license=licence(speech=True),
        what="Hard-soled footsteps in a station corridor (reverberation time about 0.4 s; about 1.8 steps per "
             f"second) for the whole clip, alone for the first {lead_in:.1f} s and audible in the pauses; "
             f"then one female voice (espeak-ng, it+f2), Italian, speaking: \"{IT_TEXT}\" Speech about "
             "10 dB above the footsteps (the phone is held close to her mouth).",
    )


def clip_speech_alarm(synth: Synth) -> Clip:
    """S0A: Portuguese evacuation announcement that starts after the alarm's first three beeps."""
    lead_in = 2.8  # the alarm's first three beeps end at 2.7 s
    speech = speech_clip(synth, "pt+m4", PT_TEXT, max_seconds=CLIP_SECONDS - lead_in - 0.3, lead_in=lead_in,
                         tail=0.3)
    beeps = smoke_alarm(seconds_of(speech, SR), SR, freq=2900.0)
    return Clip(
        "demo-speech-alarm-pt-01", "S0A", fade(mix(speech, SR, (beeps, -8.0)), SR), SR, FLAC,
        title="Evacuation drill announcement",
        description="PA announcement during the fire drill, Lisbon office.",
        tags=("announcement", "fire drill", "alarm", "portuguese"), license=licence(speech=True),
        what="A fire alarm beeping a 2900 Hz tone (three 0.5 s beeps then a 1.5 s pause, repeated) for "
             f"the whole clip, alone for the first three beeps; at {lead_in:.1f} s one male voice "
             f"(espeak-ng, pt+m4), Portuguese, starts speaking: \"{PT_TEXT}\" Speech about 8 dB above "
             "the beeps.",
    )


EN_PODCAST_TEXT = ("Hi everyone, and welcome back to the show. Today we are talking about "
                   "growing tomatoes on a small balcony.")
CMN_RADIO_TEXT = "听众朋友们，晚上好。下面请听一首歌。"


def clip_podcast(synth: Synth) -> Clip:
    """SM0: podcast intro: 2.5 s of theme music, then the host over the music ducked 10 dB below."""
    lead_in = 2.5
    speech = speech_clip(synth, "en-us+f3", EN_PODCAST_TEXT, max_seconds=CLIP_SECONDS - lead_in - 0.4,
                         lead_in=lead_in)
    music = song_lofi(synth, seconds_of(speech, SR), SR)
    duck = ((0.0, 0.0), (lead_in - 0.3, 0.0), (lead_in + 0.2, -10.0))
    return Clip(
        "demo-podcast-en-01", "SM0", fade(mix(speech, SR, (music, duck)), SR), SR, FLAC,
        title="Balcony Gardening Podcast - Ep. 12 intro",
        description="Episode intro: small-space tomato growing.",
        tags=("podcast", "gardening", "english", "intro"), license=licence(speech=True, soundfont=True),
        what="A mellow theme tune (electric piano GM 4, acoustic bass GM 32, soft drums on channel 10; "
             f"D major, 84 bpm) plays alone for the first {lead_in:.1f} s at the level the voice will have, "
             "then is ducked to about 10 dB below the speech and continues under it to the end; one female "
             f"voice (espeak-ng, en-us+f3), English, speaking: \"{EN_PODCAST_TEXT}\"",
    )


def clip_radio_cmn(synth: Synth) -> Clip:
    """SM0: Mandarin radio host over a song's intro; the song comes up to full level after her."""
    speech = speech_clip(synth, "cmn", CMN_RADIO_TEXT, max_seconds=6.4)
    speech_end = seconds_of(speech, SR) - 0.4
    speech = fit_length(speech, int(CLIP_SECONDS * SR))
    music = song_pentatonic(synth, CLIP_SECONDS, SR, seed=6002)
    level = ((0.0, -8.0), (speech_end + 0.1, -8.0), (speech_end + 0.8, 0.0))
    return Clip(
        "demo-radio-cmn-01", "SM0", fade(mix(speech, SR, (music, level)), SR), SR, FLAC,
        title="城市音乐电台 - 晚间节目",
        description="Evening radio show, host introduces the next song.",
        tags=("radio", "mandarin", "host", "music"), license=licence(speech=True, soundfont=True),
        what=f"One voice (espeak-ng, cmn), Mandarin Chinese, speaking from 0.4 s to {speech_end:.1f} s: "
             f"\"{CMN_RADIO_TEXT}\" (\"Good evening, dear listeners. Now, please listen to a song.\") over "
             "the intro of a calm song (flute GM 73, harp GM 46, strings GM 48; E major pentatonic, 70 bpm) "
             "about 8 dB below the voice; when she stops, the song comes up to the voice's level over "
             "0.7 s and plays alone to the end of the 10 s clip.",
    )


ES_BEACH_TEXT = ("¡Hola desde la playa! Hace un día precioso y estamos escuchando "
                 "a un guitarrista en el paseo.")
FR_MARKET_TEXT = ("Nous sommes au marché du dimanche matin. Écoutez, un musicien joue "
                  "de l'accordéon juste à côté.")


def clip_beach_vlog(synth: Synth) -> Clip:
    """SMA: Spanish beach vlog: waves, then speech, then the guitarist she mentions. OGG Vorbis."""
    lead_in = 2.2
    speech = speech_clip(synth, "es+f4", ES_BEACH_TEXT, max_seconds=5.6, lead_in=lead_in, tail=0.0)
    speech_end = seconds_of(speech, SR)
    speech = fit_length(speech, int(CLIP_SECONDS * SR))
    music = song_flamenco(synth, CLIP_SECONDS, SR)
    waves = gm_seashore(synth, CLIP_SECONDS, SR)
    talk, after = (lead_in - 0.3, lead_in + 0.2), (speech_end + 0.1, speech_end + 0.6)
    guitar_level = ((0.0, -20.0), (talk[0], -20.0), (talk[1], -8.0), (after[0], -8.0), (after[1], 0.0))
    waves_level = ((0.0, 0.0), (talk[0], 0.0), (talk[1], -10.0))
    audio = mix(speech, SR, (music, guitar_level), (waves, waves_level))
    return Clip(
        "demo-beach-vlog-es-01", "SMA", fade(audio, SR), SR, OGG,
        title="Vlog: un día en la playa",
        description="Saludo desde el paseo marítimo, con un guitarrista tocando al lado.",
        tags=("vlog", "playa", "guitarra", "español"), license=licence(speech=True, soundfont=True),
        what="Waves on a beach (GM Seashore, 122) and Spanish-style nylon-guitar strumming (GM 24, "
             "Am-G-F-E, 100 bpm, with castanets/claps) for the whole 10 s. Levels relative to the voice: "
             f"for the first {lead_in:.1f} s the camera faces the sea (waves 0 dB, the guitar barely audible at -20 dB); "
             f"from {lead_in:.1f} s to {speech_end:.1f} s one female voice (espeak-ng, es+f4), Spanish, "
             f"speaks: \"{ES_BEACH_TEXT}\" (guitar -8 dB, waves -10 dB); then the camera turns to the "
             "guitarist, whose playing comes up to 0 dB over the waves at -10 dB until the end. OGG Vorbis.",
    )


ACCORDION_DB = -15.0  # the accordion under the speech, relative to the voice


def clip_market(synth: Synth) -> Clip:
    """SMA: French speech at a market beside an accordionist, who ends his waltz to applause."""
    lead_in, bars = 2.2, 6  # six bars of 3/4 at 150 bpm = 7.2 s
    waltz_end = bars * 3 * 60 / 150
    speech = speech_clip(synth, "fr-fr+m3", FR_MARKET_TEXT, max_seconds=waltz_end - lead_in,
                         lead_in=lead_in, tail=0.0)
    speech_end = seconds_of(speech, SR)
    speech = fit_length(speech, int(CLIP_SECONDS * SR))
    music = song_accordion_waltz(synth, CLIP_SECONDS, SR, seed=7002, bars=bars)
    crowd = gm_applause(synth, CLIP_SECONDS, SR, start=waltz_end + 0.3, fade_out=False)
    talk = (lead_in - 0.3, lead_in + 0.2)
    accordion_level = ((0.0, 0.0), (talk[0], 0.0), (talk[1], ACCORDION_DB))
    audio = mix(speech, SR, (music, accordion_level), (crowd, -2.0))
    return Clip(
        "demo-market-fr-01", "SMA", fade(audio, SR), SR, FLAC,
        title="Au marché du dimanche",
        description="Promenade au marché, un accordéoniste joue près des stands.",
        tags=("marché", "accordéon", "français", "ambiance"), license=licence(speech=True, soundfont=True),
        what="A musette waltz on accordion (GM 21, F major, 3/4 at 150 bpm), alone for the first "
             f"{lead_in:.1f} s at the level the voice will have; from {lead_in:.1f} s to {speech_end:.1f} s "
             f"one male voice (espeak-ng, fr-fr+m3), French, speaks: \"{FR_MARKET_TEXT}\" with the "
             f"accordion about {-ACCORDION_DB:.0f} dB below him. The waltz ends on a chord held from "
             f"{waltz_end:.1f} s to {waltz_end + 0.8:.1f} s; from {waltz_end + 0.3:.1f} s the bystanders "
             "applaud (GM Applause, 126), rising over a second to about 2 dB below the voice's level and "
             "going on to the end of the 10 s clip.",
    )


CLIP_BUILDERS: tuple[Callable[[Synth], Clip], ...] = (
    clip_silence, clip_room_tone,
    clip_birds, clip_siren, clip_applause, clip_smoke_alarm,
    clip_piano, clip_guitar_strings, clip_band_long,
    clip_jazz_phone, clip_rock_applause,
    clip_speech_en, clip_speech_fr, clip_speech_de_mislabelled, clip_speech_es_window, clip_speech_cmn,
    clip_speech_rain, clip_speech_footsteps, clip_speech_alarm,
    clip_podcast, clip_radio_cmn,
    clip_beach_vlog, clip_market,
)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def write_audio(clip: Clip, out_dir: Path) -> Path:
    """Normalise (unless a silence clip) and write the clip in its format."""
    audio = clip.audio
    if clip.normalise:
        audio = normalise_peak(audio, LOSSY_PEAK_DBFS if clip.fmt.lossy else LOSSLESS_PEAK_DBFS)
    path = out_dir / clip.filename
    level = 1.0 if clip.fmt.container == "FLAC" else None  # smallest FLAC; codec defaults otherwise
    sf.write(path, audio.astype(np.float32), clip.sr, format=clip.fmt.container,
             subtype=clip.fmt.subtype, compression_level=level)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    print(f"wrote {shown(path)}  [{clip.domain}] {seconds_of(audio, clip.sr):.2f} s, {clip.sr} Hz, "
          f"{channels} ch, {clip.fmt.container}/{clip.fmt.subtype}")
    return path


def shown(path: Path) -> str:
    """A path for messages: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def fmt_seconds(value: float | None) -> str:
    """Manifest seconds: empty when unset."""
    return "" if value is None else f"{value:.1f}"


def write_manifest(clips: Sequence[Clip], out_dir: Path) -> Path:
    """Write manifest.csv (UTF-8, header as the pipeline expects)."""
    path = out_dir / "manifest.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_HEADER)
        for c in clips:
            writer.writerow([
                c.filename, fmt_seconds(c.start), fmt_seconds(c.end), c.source_id, c.title,
                c.description, "|".join(c.tags), c.license, c.domain, c.what,
            ])
    print(f"wrote {shown(path)}  ({len(clips)} rows)")
    return path


def domain_counts(clips: Sequence[Clip]) -> Counter[str]:
    """Clips per domain as the pipeline sees them (the long file counts twice)."""
    counts: Counter[str] = Counter()
    for c in clips:
        counts[c.domain] += c.n_clips
    return counts


def readme_file_row(clip: Clip) -> str:
    """One line of the README's file table."""
    channels = 1 if clip.audio.ndim == 1 else clip.audio.shape[1]
    if clip.start is not None:
        use = f"window {clip.start:.1f}-{clip.end:.1f} s"
    else:
        use = f"split into {clip.n_clips} x 10 s" if clip.n_clips > 1 else "whole file"
    return (f"| `{clip.filename}` | `{clip.domain}` | {seconds_of(clip.audio, clip.sr):.1f} s | "
            f"{clip.sr} Hz, {channels} ch, {clip.fmt.container} | {use} |")


def write_readme(clips: Sequence[Clip], out_dir: Path) -> Path:
    """Write README.md describing the corpus, its licences and domain counts."""
    counts = domain_counts(clips)
    names = {
        "000": "no speech, music or sound (silence / noise floor)", "00A": "sound events only",
        "0M0": "music only", "0MA": "music + sound", "S00": "speech only", "S0A": "speech + sound",
        "SM0": "speech + music", "SMA": "speech + music + sound",
    }
    domain_rows = "\n".join(f"| `{d}` | {names[d]} | {counts[d]} |" for d in DOMAINS)
    file_rows = "\n".join(readme_file_row(c) for c in clips)
    text = f"""# Demo corpus

A small built-in corpus for trying the acav-assets pipeline end to end without
downloading anything. It has {len(clips)} source files giving {sum(counts.values())} clips
of at most 10 s that cover all eight ACAVCaps domains (speech / music / other
sound, written `SMA` with `0` for an absent part).

Everything is synthetic and deterministic:

* speech: espeak-ng, in English, French, German, Spanish, Italian, Portuguese and
  Mandarin; the exact sentences are in the `what` column of `manifest.csv`;
* music and General MIDI sound effects (birds, applause, telephone, seashore):
  MIDI built with `mido`, rendered by fluidsynth with the FluidR3_GM soundfont;
* rain, footsteps, alarm beeps, a passing siren and the noise floor: numpy.

Mixtures are summed in numpy at the levels stated per row (relative to the
active, non-pause parts of the main source, usually the voice), on timelines in
which every part of the recorded domain is clearly audible: each part has a
stretch of about 2 s or more to itself (e.g. rain before the voice memo starts,
the song coming up after the radio host, applause after the last chord) or sits
within a few dB of the main source. `python scripts/check_demo_routing.py`
tags every clip with the packaged YAMNet tagger on 2 s windows, routes it with
the default thresholds and compares the result with the `domain` column.

Clips are peak-normalised to -2 dBFS (-3 dBFS for the lossy MP3/OGG files),
except the two `000` clips, which are digital silence and a noise floor at
about -75 dBFS RMS.

`manifest.csv` columns: `audio` (path relative to this folder), `start`/`end`
(seconds; empty means "use the whole file, cut into consecutive 10 s clips"),
`source_id`, `title`, `description`, `tags` (`|`-separated), `license`, `domain`
(the true domain) and `what` (a plain description of the audio). The metadata
imitates what a user's source would carry; one row (`demo-speech-de-01`) is
deliberately mislabelled as piano music although it is German speech.

The files exercise several decoders: mostly 16 kHz mono FLAC, plus a 44.1 kHz
stereo WAV, an OGG Vorbis, an MP3 and a 48 kHz FLAC. `demo-band-long-01.flac` is
20 s long with no start/end (two clips), and `demo-speech-es-01.flac` is used
through an explicit 2.0-9.5 s window.

## Regenerating

    pip install -e '.[demo-corpus]'   # adds mido
    python scripts/make_demo_corpus.py

Needs the Debian packages `espeak-ng`, `fluidsynth` and `fluid-soundfont-gm`
(soundfont at `{SOUNDFONT}`) and the Python packages numpy, scipy, soundfile
(libsndfile >= 1.1 for MP3/OGG) and mido. Seeds are fixed, so the audio is the
same on every run with the same tool versions (OGG files differ byte-wise
because the stream serial number is random).

## Licences

* Everything generated here (numpy sounds, compositions, mixes, metadata):
  CC0-1.0.
* Speech synthesised with espeak-ng (the program is GPL-3.0-or-later; the GPL
  does not extend to the audio it outputs), released here as CC0-1.0.
* Instrument and effect sounds rendered with the FluidR3_GM soundfont by Frank
  Wen, MIT licence (Debian package `fluid-soundfont-gm`).

## Domain counts (clips)

| domain | meaning | clips |
|---|---|---|
{domain_rows}

## Files

| file | domain | duration | format | used as |
|---|---|---|---|---|
{file_rows}
"""
    path = out_dir / "README.md"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {shown(path)}")
    return path


def check_duration(clip: Clip, duration: float) -> None:
    """Every clip the pipeline takes from this file must be at most 10 s."""
    if clip.start is not None and clip.end is not None:
        ok = clip.end <= duration and clip.end - clip.start <= CLIP_SECONDS
    elif clip.n_clips > 1:
        ok = math.isclose(duration, clip.n_clips * CLIP_SECONDS, abs_tol=0.01)
    else:
        ok = duration <= CLIP_SECONDS
    if not ok:
        raise RuntimeError(f"{clip.filename}: {duration:.2f} s does not fit its manifest row")


def verify(clips: Sequence[Clip], out_dir: Path) -> None:
    """Decode every written file with soundfile and print what came back."""
    print("\nverification (decoded with soundfile):")
    total = 0
    for c in clips:
        path = out_dir / c.filename
        audio, sr = sf.read(path, dtype="float64", always_2d=True)
        size = path.stat().st_size
        total += size
        peak = float(np.max(np.abs(audio)))
        peak_db = 20 * math.log10(peak) if peak > 0 else float("-inf")
        level = rms(audio)
        rms_db = 20 * math.log10(level) if level > 0 else float("-inf")
        duration = len(audio) / sr
        check_duration(c, duration)
        print(f"  {c.filename:32s} {c.domain}  {duration:6.2f} s  {sr:5d} Hz  {audio.shape[1]} ch  "
              f"peak {peak_db:6.1f} dBFS  rms {rms_db:6.1f} dBFS  {size / 1024:6.1f} KiB")
    total += sum((out_dir / name).stat().st_size for name in ("manifest.csv", "README.md"))
    print(f"  total folder size: {total / 1024 / 1024:.2f} MiB")
    print("  clips per domain: " + ", ".join(f"{d}={domain_counts(clips)[d]}" for d in DOMAINS))


def main(argv: Sequence[str] | None = None) -> None:
    """Build every clip, write audio, manifest and README, then verify."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    check_tools()

    out_dir: Path = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="demo_corpus_") as tmp:
        synth = Synth(Path(tmp))
        clips = [build(synth) for build in CLIP_BUILDERS]

    ids = [c.source_id for c in clips]
    if len(set(ids)) != len(ids):
        raise RuntimeError("duplicate source_id in the clip list")
    keep = {c.filename for c in clips}
    for stale in sorted(out_dir.iterdir()):
        if stale.suffix in AUDIO_SUFFIXES and stale.name not in keep:
            print(f"removing stale {shown(stale)}")
            stale.unlink()
    for clip in clips:
        write_audio(clip, out_dir)
    write_manifest(clips, out_dir)
    write_readme(clips, out_dir)
    verify(clips, out_dir)


if __name__ == "__main__":
    main()
