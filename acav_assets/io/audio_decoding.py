"""Decode one clip window from any audio or video file to 16 kHz mono float32.

libsndfile (via soundfile) reads WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF and more with exact
seeking, so only the requested window is read. Everything else (the audio track of MP4, MKV,
WebM, MOV, AAC/M4A ...) goes through FFmpeg (via PyAV), decoded as a stream from the nearest
seek point, skipping damaged packets. Either way no more than about one clip of audio is held in
memory.

A file that cannot be used raises AudioDecodeError (an input defect, recorded on the clip's row);
a source that cannot be *reached* (connection refused, DNS, timeouts, HTTP 5xx/429) is retried
and then raises SourceUnreachable, a systemic failure. Messages never carry URL secrets.
"""

from __future__ import annotations

import contextlib
import errno
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import av
import fsspec
import numpy as np
import soundfile as sf
import soxr

from acav_assets.contracts.failures import SourceUnreachable
from acav_assets.io.url_redaction import redact_text, redact_url

TARGET_RATE = 16_000
SEEK_PREROLL_S = 0.5
# libsndfile's frame count when the header leaves the length open (a FLAC streamed to a pipe).
_UNKNOWN_FRAMES = 2**63 - 1
SOURCE_TRIES = 3  # attempts on a source that cannot be reached, before SourceUnreachable
RETRY_DELAY_S = 0.5  # doubled after every failed attempt


class AudioDecodeError(Exception):
    """A clip that cannot be decoded; ``kind`` is a short machine-readable reason. The message
    is redacted: it never carries a URL's credentials or signature."""

    def __init__(self, kind: str, message: str):
        message = redact_text(message)
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


_UNREACHABLE_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ENETUNREACH, errno.ENETDOWN,
    errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ETIMEDOUT,
})
# aiohttp, botocore, urllib3 and requests name their transport errors like this.
_UNREACHABLE_NAME = re.compile(r"Connect|Timeout|Unreachable|Disconnected")


def transport_error(error: BaseException | None) -> BaseException | None:
    """The transport failure behind ``error`` (itself or a cause): no connection, a timeout, a
    name that does not resolve, HTTP 5xx or 429. None when the file itself is at fault."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        status = getattr(error, "status", None) or getattr(error, "status_code", None)
        if (
            isinstance(error, (ConnectionError, TimeoutError, socket.gaierror))
            or (isinstance(error, OSError) and error.errno in _UNREACHABLE_ERRNOS)
            or any(_UNREACHABLE_NAME.search(cls.__name__) for cls in type(error).__mro__)
            or (isinstance(status, int) and (status == 429 or 500 <= status < 600))
        ):
            return error
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None


def unknown_host(error: BaseException | None) -> bool:
    """Whether ``error`` (or a cause) says the URL's host name does not exist (a defect of that
    row, unlike a name server that cannot be reached, which stays a transport failure)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        for candidate in (error, getattr(error, "os_error", None)):
            if isinstance(candidate, socket.gaierror) and candidate.errno == socket.EAI_NONAME:
                return True
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return False


R = TypeVar("R")


def _retrying(url: str, attempt: Callable[[], R]) -> R:
    """``attempt()``, tried again with backoff while the source is unreachable; after
    SOURCE_TRIES attempts, SourceUnreachable (a defect of the file is raised at once)."""
    tries = 1
    while True:
        try:
            return attempt()
        except AudioDecodeError:
            raise
        except Exception as error:
            if unknown_host(error):
                raise AudioDecodeError("unknown_host", redact_text(f"{url}: no such host ({error})")) from None
            cause = transport_error(error)
            if cause is None:
                raise
            if tries >= SOURCE_TRIES:
                raise SourceUnreachable(redact_text(
                    f"{url} could not be reached ({tries} tries): {type(cause).__name__}: {cause}"
                )) from None
        time.sleep(RETRY_DELAY_S * 2 ** (tries - 1))
        tries += 1


class _GuardedFile:
    """A source file that remembers its transport errors: libsndfile reads through callbacks
    that turn an exception into a short read, which would pass for a truncated file. ``name``
    is the redacted URL (FFmpeg puts it in its messages)."""

    def __init__(self, handle, url: str):
        self._handle, self.name, self.transport_error = handle, redact_url(url), None

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def _guard(self, method: str, *args):
        try:
            return getattr(self._handle, method)(*args)
        except Exception as error:
            self.transport_error = self.transport_error or transport_error(error)
            raise

    def read(self, size: int = -1) -> bytes:
        return self._guard("read", size)

    def readinto(self, buffer) -> int:
        return self._guard("readinto", buffer)

    def seek(self, *args) -> int:
        return self._guard("seek", *args)


@contextlib.contextmanager
def _open_source(url: str) -> Iterator[_GuardedFile]:
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as error:  # e.g. http:// without fsspec's optional HTTP packages
        raise AudioDecodeError("unsupported_location", f"{url} cannot be reached from here: {error}") from None
    except ValueError as error:  # an unknown protocol
        raise AudioDecodeError("unsupported_location", f"{url}: {error}") from None
    try:
        info = fs.info(path)  # not fs.exists(): over HTTP it answers False when the server is down
        if info.get("type") == "directory":
            raise AudioDecodeError("missing_file", f"{url} is a folder, not a file")
        if info.get("size") == 0:
            raise AudioDecodeError("empty_file", f"{url} is 0 bytes")
        handle = fs.open(path, "rb")
    except (OSError, ValueError) as error:
        if transport_error(error) is not None:
            raise
        reason = "does not exist" if isinstance(error, FileNotFoundError) else f"cannot be opened: {error}"
        raise AudioDecodeError("missing_file", f"{url} {reason}") from None
    with handle:
        guarded = _GuardedFile(handle, url)
        try:
            yield guarded
        except Exception:
            if guarded.transport_error is None:
                raise
        if guarded.transport_error is not None:
            raise guarded.transport_error


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


def _too_long(max_seconds: float, seconds: float | None = None) -> AudioDecodeError:
    """A window longer than the limit: refused before more than the limit is read."""
    size = f"is {seconds:.1f} s" if seconds is not None else f"runs past {max_seconds:g} s"
    return AudioDecodeError("window_too_long", f"the window {size}, longer than the {max_seconds:g} s limit "
                            "(ACAV_MAX_CLIP_SECONDS); nothing more was read")


def _read_with_soundfile(
    handle, start: float, end: float | None, max_seconds: float | None = None
) -> tuple[np.ndarray, int, int, str | None]:
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
        if sound.format == "MP3" or frames >= _UNKNOWN_FRAMES:  # FFmpeg reads an open-ended stream to its end
            raise _UseFFmpeg  # libsndfile returns stretches of zeros after MP3 seeks and partial reads
        if max_seconds is not None and last - first > max_seconds * rate:
            raise _too_long(max_seconds, (last - first) / rate)
        if sound.seekable():
            sound.seek(first)
        else:  # skip block by block: never more than a few seconds in memory
            while first > 0 and (skipped := len(sound.read(min(first, 10 * rate), dtype="float32"))):
                first -= skipped
        try:
            data = sound.read(last - first, dtype="float32", always_2d=True)
        except sf.LibsndfileError as error:
            raise AudioDecodeError("truncated_or_corrupt", f"decoding stopped: {error}") from None
        if warning is None and len(data) < last - first:  # damaged pages of an OGG end the read early
            warning = f"decoded {len(data) / rate:.2f} s where the header declares {(last - first) / rate:.2f} s"
        return data, rate, channels, warning


def _decodes_anything(container, stream, packets: int = 64) -> bool:
    """Whether any of the first ``packets`` packets of ``stream`` decodes to audio."""
    try:
        container.seek(0)
        for packet in container.demux(stream):
            packets -= 1
            with contextlib.suppress(av.FFmpegError):
                if packet.decode():
                    return True
            if packets <= 0:
                return False
    except av.FFmpegError:
        pass
    return False


def _read_with_ffmpeg(
    handle, start: float, end: float | None, max_seconds: float | None = None
) -> tuple[np.ndarray, int, int, str | None]:
    """Decode [start, end) packet by packet: a damaged packet is skipped (the decoder resyncs on
    the next one) and reported in the warning, so damage in the middle costs only its own audio."""
    try:
        container = av.open(handle, mode="r")
    except (av.FFmpegError, ValueError) as error:
        raise AudioDecodeError("unreadable_format", f"not a recognised audio or video file ({error})") from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError("no_audio_stream", "the container has no audio track")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise AudioDecodeError("unreadable_format", "FFmpeg has no decoder for its audio codec")
        rate = stream.codec_context.sample_rate or stream.rate
        channels = stream.codec_context.channels or 1
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        else:
            declared = container.duration / av.time_base if container.duration else None
        if start > 0:
            # Seek a little early: frames right after a seek point can decode wrongly (MP3's bit
            # reservoir); the samples before `start` are cut off by timestamp below.
            container.seek(int(max(0.0, start - SEEK_PREROLL_S) * av.time_base), any_frame=False, backward=True)
        # Normalise every frame to planar float32 at the original rate and layout.
        # Timestamps count from the stream's start (e.g. after MP3 encoder delay), not from zero.
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        pieces: list[np.ndarray] = []
        held = 0  # samples in pieces
        position = None  # time of the next sample, in seconds
        decoded, damaged, damaged_s, stopped = 0, 0, 0.0, None  # packets decoded and skipped
        packets = container.demux(stream)
        while end is None or position is None or position < end:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as error:  # the container itself is broken from here on
                stopped = str(error)
                break
            try:
                frames = packet.decode()
            except av.FFmpegError:  # a damaged packet
                damaged += 1
                if packet.duration and packet.time_base:
                    damaged_s += float(packet.duration * packet.time_base)
                continue
            decoded += 1
            for frame in frames:
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
                        held += hi - lo
                        if max_seconds is not None and held > max_seconds * rate:
                            raise _too_long(max_seconds)
        skipped = f"{damaged} damaged packet{'s' * (damaged != 1)}"
        if not pieces:
            if position is None and (start <= 0 or not _decodes_anything(container, stream)):
                detail = f" ({skipped})" if damaged else f" ({stopped})" if stopped else ""
                raise AudioDecodeError(
                    "unreadable_format",
                    f"not a recognised audio file: FFmpeg read it as {container.format.name} but decoded no audio{detail}",
                )
            raise AudioDecodeError("window_out_of_range", f"no audio at or after {start:.3f} s")
        if damaged > decoded:
            raise AudioDecodeError("truncated_or_corrupt", f"{skipped} of {damaged + decoded} in the window")
        notes = [f"skipped {skipped} (~{damaged_s:.2f} s)"] if damaged else []
        if stopped:
            notes.append(f"decoding stopped at {position:.2f} s: {stopped}")
        expected = (declared if end is None else min(end, declared)) - start if declared else None
        if expected and expected - held / rate > max(0.25, 0.03 * expected):
            notes.append(f"decoded {held / rate:.2f} s where the header declares {expected:.2f} s")
        return np.concatenate(pieces).astype(np.float32), rate, channels, "; ".join(notes) or None


def to_mono_16k(data: np.ndarray, rate: int) -> np.ndarray:
    """Average the channels and resample (soxr, high quality) to 16 kHz, in float32."""
    mono = data.mean(axis=1) if data.ndim == 2 and data.shape[1] > 1 else data.reshape(-1)
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if rate != TARGET_RATE:
        mono = soxr.resample(mono, rate, TARGET_RATE, quality="HQ")
    return mono


def decode_clip(url: str, start: float = 0.0, end: float | None = None, max_seconds: float | None = None) -> DecodedClip:
    """The window [start, end) of ``url`` as 16 kHz mono float32 (``end=None``: to the end).
    More than ``max_seconds`` of audio is refused as ``window_too_long`` without being held.

    Raises AudioDecodeError with a short ``kind`` for every way a file can be unusable, and
    SourceUnreachable when the source cannot be reached after SOURCE_TRIES attempts."""
    return _retrying(url, lambda: _decode_clip(url, start, end, max_seconds))


def _decode_clip(url: str, start: float, end: float | None, max_seconds: float | None) -> DecodedClip:
    with _open_source(url) as handle:
        try:
            data, rate, channels, warning = _read_with_soundfile(handle, start, end, max_seconds)
        except _UseFFmpeg:
            handle.seek(0)
            data, rate, channels, warning = _read_with_ffmpeg(handle, start, end, max_seconds)
        except sf.LibsndfileError as soundfile_error:
            handle.seek(0)
            try:
                data, rate, channels, warning = _read_with_ffmpeg(handle, start, end, max_seconds)
            except AudioDecodeError as error:
                if error.kind == "unreadable_format":
                    raise AudioDecodeError(
                        "unreadable_format",
                        f"not a recognised audio file: neither libsndfile ({soundfile_error.error_string}) "
                        "nor FFmpeg can read it as audio",
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
    """The length of ``url`` in seconds from its header, or None when it cannot be read.
    Raises SourceUnreachable when the source cannot be reached."""
    try:
        return _retrying(url, lambda: _probe_duration(url))
    except (AudioDecodeError, av.FFmpegError, OSError, ValueError):
        return None


def _probe_duration(url: str) -> float | None:
    with _open_source(url) as handle:
        try:
            info = sf.info(handle)
            return info.frames / info.samplerate if info.samplerate and info.frames < _UNKNOWN_FRAMES else None
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
