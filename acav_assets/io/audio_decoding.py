"""Decode one clip window from any audio or video file to 16 kHz mono float32.

libsndfile (via soundfile) reads WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF and more with exact
seeking, so only the requested window is read. Everything else (the audio track of MP4, MKV,
WebM, MOV, AAC/M4A ...) goes through FFmpeg (via PyAV), decoded as a stream from the nearest
seek point. Either way no more than about one clip of audio is held in memory.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import av
import fsspec
import numpy as np
import soundfile as sf
import soxr

TARGET_RATE = 16_000
SEEK_PREROLL_S = 0.5


class AudioDecodeError(Exception):
    """A clip that cannot be decoded; ``kind`` is a short machine-readable reason."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class DecodedClip:
    audio: np.ndarray  # float32, mono, TARGET_RATE
    original_rate: int
    original_channels: int
    warning: str | None = None

    @property
    def duration(self) -> float:
        return len(self.audio) / TARGET_RATE


@contextlib.contextmanager
def _open_source(url: str) -> Iterator:
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as error:  # e.g. http:// without fsspec's optional HTTP packages
        raise AudioDecodeError("unsupported_location", f"{url} cannot be reached from here: {error}") from None
    except ValueError as error:  # an unknown protocol
        raise AudioDecodeError("unsupported_location", f"{url}: {error}") from None
    try:
        if not fs.exists(path):
            raise AudioDecodeError("missing_file", f"{url} does not exist")
        if fs.isdir(path):
            raise AudioDecodeError("missing_file", f"{url} is a folder, not a file")
        if fs.size(path) == 0:
            raise AudioDecodeError("empty_file", f"{url} is 0 bytes")
    except (OSError, ValueError) as error:
        raise AudioDecodeError("missing_file", f"{url} cannot be opened: {error}") from None
    with fs.open(path, "rb") as handle:
        yield handle


_TRUNCATED_WAV = re.compile(r"data : (\d+) \(should be (\d+)\)")


def _truncation_warning(info: str, rate: int, channels: int, frames: int) -> str | None:
    """libsndfile notes when a WAV header claims more data than the file holds."""
    match = _TRUNCATED_WAV.search(info)
    if not match or frames <= 0:
        return None
    declared, present = int(match.group(1)), int(match.group(2))
    if present >= declared:
        return None
    bytes_per_frame = present / frames
    declared_seconds = declared / bytes_per_frame / rate
    return (
        f"truncated file: the header declares {declared_seconds:.2f} s but only "
        f"{frames / rate:.2f} s are present; the present part was decoded"
    )


class _UseFFmpeg(Exception):
    """A format that libsndfile opens but FFmpeg decodes more faithfully."""


def _read_with_soundfile(handle, start: float, end: float | None) -> tuple[np.ndarray, int, int, str | None]:
    with sf.SoundFile(handle) as sound:
        rate, channels, frames = sound.samplerate, sound.channels, sound.frames
        warning = _truncation_warning(sound.extra_info, rate, channels, frames)
        first = int(round(start * rate))
        last = frames if end is None else min(int(round(end * rate)), frames)
        if frames == 0:
            raise AudioDecodeError("empty_audio", "the file holds no audio samples")
        if first >= frames:
            raise AudioDecodeError(
                "window_out_of_range", f"start {start:.3f} s is past the end of the audio ({frames / rate:.3f} s)"
            )
        if sound.format == "MP3":
            raise _UseFFmpeg  # libsndfile returns stretches of zeros after MP3 seeks and partial reads
        if sound.seekable():
            sound.seek(first)
        else:
            sound.read(first, dtype="float32")
        try:
            data = sound.read(last - first, dtype="float32", always_2d=True)
        except sf.LibsndfileError as error:
            raise AudioDecodeError("truncated_or_corrupt", f"decoding stopped: {error}") from None
        return data, rate, channels, warning


def _read_with_ffmpeg(handle, start: float, end: float | None) -> tuple[np.ndarray, int, int, str | None]:
    try:
        container = av.open(handle, mode="r")
    except (av.FFmpegError, ValueError) as error:
        raise AudioDecodeError("unreadable_format", f"not a recognised audio or video file ({error})") from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError("no_audio_stream", "the container has no audio track")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        channels = stream.codec_context.channels or 1
        if start > 0:
            # Seek a little early: frames right after a seek point can decode wrongly (MP3's bit
            # reservoir); the samples before `start` are cut off by timestamp below.
            container.seek(int(max(0.0, start - SEEK_PREROLL_S) * av.time_base), any_frame=False, backward=True)
        # Normalise every frame to planar float32 at the original rate and layout.
        # Timestamps count from the stream's start (e.g. after MP3 encoder delay), not from zero.
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        pieces: list[np.ndarray] = []
        position = None  # time of the next sample, in seconds
        try:
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    samples = converted.to_ndarray()  # (channels, n)
                    frame_start = (
                        float(converted.pts * converted.time_base) - origin
                        if converted.pts is not None
                        else (position or 0.0)
                    )
                    position = frame_start + samples.shape[1] / rate
                    lo = max(0, int(round((start - frame_start) * rate)))
                    hi = samples.shape[1] if end is None else min(samples.shape[1], int(round((end - frame_start) * rate)))
                    if hi > lo:
                        pieces.append(samples[:, lo:hi].T)
                if end is not None and position is not None and position >= end:
                    break
        except av.FFmpegError as error:
            if not pieces:
                raise AudioDecodeError("truncated_or_corrupt", f"decoding failed: {error}") from None
        if not pieces:
            raise AudioDecodeError("window_out_of_range", f"no audio at or after {start:.3f} s")
        return np.concatenate(pieces).astype(np.float32), rate, channels, None


def to_mono_16k(data: np.ndarray, rate: int) -> np.ndarray:
    """Average the channels and resample (soxr, high quality) to 16 kHz, in float32."""
    mono = data.mean(axis=1) if data.ndim == 2 and data.shape[1] > 1 else data.reshape(-1)
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if rate != TARGET_RATE:
        mono = soxr.resample(mono, rate, TARGET_RATE, quality="HQ")
    return mono


def decode_clip(url: str, start: float = 0.0, end: float | None = None) -> DecodedClip:
    """The window [start, end) of ``url`` as 16 kHz mono float32 (``end=None``: to the end).

    Raises AudioDecodeError with a short ``kind`` for every way a file can be unusable."""
    with _open_source(url) as handle:
        try:
            data, rate, channels, warning = _read_with_soundfile(handle, start, end)
        except _UseFFmpeg:
            handle.seek(0)
            data, rate, channels, warning = _read_with_ffmpeg(handle, start, end)
        except sf.LibsndfileError as soundfile_error:
            handle.seek(0)
            try:
                data, rate, channels, warning = _read_with_ffmpeg(handle, start, end)
            except AudioDecodeError as error:
                if error.kind == "unreadable_format":
                    raise AudioDecodeError(
                        "unreadable_format",
                        f"neither libsndfile ({soundfile_error.error_string}) nor FFmpeg can read it as audio",
                    ) from None
                raise
    if data.shape[0] == 0:
        raise AudioDecodeError("empty_audio", f"the window {start:.3f}-{end} s holds no samples")
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - finite.sum())
        raise AudioDecodeError("non_finite_samples", f"{bad} of {data.size} samples are NaN or infinite")
    return DecodedClip(to_mono_16k(data, rate), rate, channels, warning)


def probe_duration(url: str) -> float | None:
    """The length of ``url`` in seconds from its header, or None when it cannot be read."""
    try:
        with _open_source(url) as handle:
            try:
                info = sf.info(handle)
                return info.frames / info.samplerate if info.samplerate else None
            except sf.LibsndfileError:
                handle.seek(0)
                with av.open(handle, mode="r") as container:
                    if not container.streams.audio:
                        return None
                    if container.duration is not None:
                        return container.duration / av.time_base
                    stream = container.streams.audio[0]
                    if stream.duration is not None and stream.time_base is not None:
                        return float(stream.duration * stream.time_base)
                    return None
    except (AudioDecodeError, av.FFmpegError, OSError, ValueError):
        return None
