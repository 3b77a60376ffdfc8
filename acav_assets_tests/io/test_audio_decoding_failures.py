"""Damaged, fake and unreachable sources: what decode_clip recovers, refuses and raises."""

import errno
import io
import os
import socket
import tracemalloc

import fsspec
import numpy as np
import pytest
import soundfile as sf

from acav_assets.contracts.failures import SourceUnreachable
from acav_assets.io import audio_decoding
from acav_assets.io.audio_decoding import AudioDecodeError, _read_with_ffmpeg, decode_clip, transport_error
from acav_assets_tests.fixtures import tone, write_mp4


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(audio_decoding, "RETRY_DELAY_S", 0.0)


def _mp3(path, seconds: float) -> bytes:
    sf.write(path, tone(seconds, rate=44_100), 44_100)
    return path.read_bytes()


def test_damage_in_the_middle_of_an_mp3_is_skipped_with_a_warning(tmp_path):
    """2 KB of noise in the middle used to end the clip there, stored ok without a warning."""
    data = bytearray(_mp3(tmp_path / "good.mp3", 10.0))
    middle = len(data) // 2
    data[middle:middle + 2048] = np.random.default_rng(0).bytes(2048)
    (tmp_path / "damaged.mp3").write_bytes(bytes(data))
    assert decode_clip(str(tmp_path / "good.mp3")).warning is None
    clip = decode_clip(str(tmp_path / "damaged.mp3"))
    assert clip.duration >= 9.0
    assert "damaged packet" in clip.warning and "header declares 10.00 s" in clip.warning
    late = decode_clip(str(tmp_path / "damaged.mp3"), 7.0, 9.0)  # a window after the damage
    assert abs(late.duration - 2.0) < 0.01


@pytest.mark.parametrize("name", ["x.wav", "x.mp3"])
def test_random_bytes_are_not_audio(tmp_path, name):
    (tmp_path / name).write_bytes(os.urandom(50_000))
    for window in [(0.0, None), (0.0, 10.0), (20.0, 30.0)]:
        with pytest.raises(AudioDecodeError) as raised:
            decode_clip(str(tmp_path / name), *window)
        assert raised.value.kind == "unreadable_format"
        assert "not a recognised audio file" in raised.value.message


@pytest.mark.parametrize("window", [(0.0, None), (5.0, 8.0)])
def test_a_stream_ffmpeg_opens_but_cannot_decode_is_not_audio(window):
    """MPEG frame headers around payloads of 0xFF bytes: FFmpeg opens it as MP3 and decodes
    nothing. That is an unreadable file, not a window past the end."""
    data = b"".join(b"\xff\xfb\x90\x64" + b"\xff" * 413 for _ in range(120))
    with pytest.raises(AudioDecodeError) as raised:
        _read_with_ffmpeg(io.BytesIO(data), *window)
    assert raised.value.kind == "unreadable_format" and "decoded no audio" in raised.value.message


@pytest.mark.parametrize("name", ["late.mp3", "late.mp4"])
def test_a_window_past_the_end_of_decodable_audio_is_out_of_range(tmp_path, name):
    if name.endswith(".mp3"):
        _mp3(tmp_path / name, 3.0)
    else:
        write_mp4(tmp_path / name, tone(3.0, rate=48_000), 48_000)
    with pytest.raises(AudioDecodeError) as raised:
        decode_clip(str(tmp_path / name), 10.0, 20.0)
    assert raised.value.kind == "window_out_of_range"


def test_without_an_end_no_more_than_the_limit_is_read(tmp_path):
    """A whole-file window (end None) on a long file: refused once past ``max_seconds``, holding
    no more than the limit (120 s of 44.1 kHz audio would be 21 MB as float32)."""
    sf.write(tmp_path / "long.wav", tone(120.0, rate=44_100), 44_100)
    _mp3(tmp_path / "long.mp3", 120.0)
    for name in ["long.wav", "long.mp3"]:
        tracemalloc.start()
        with pytest.raises(AudioDecodeError) as raised:
            decode_clip(str(tmp_path / name), 0.0, None, max_seconds=5.0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert raised.value.kind == "window_too_long" and "5 s limit" in raised.value.message, name
        assert peak < 6 * 1024 * 1024, (name, peak)
        assert abs(decode_clip(str(tmp_path / name), 100.0, 103.0, max_seconds=5.0).duration - 3.0) < 0.01


def test_ffmpeg_stops_reading_at_the_end_of_the_window(tmp_path):
    data = _mp3(tmp_path / "long.mp3", 120.0)

    class Counting(io.BytesIO):
        bytes_read = 0

        def read(self, size=-1):
            chunk = super().read(size)
            Counting.bytes_read += len(chunk)
            return chunk

    audio, rate, _, _ = _read_with_ffmpeg(Counting(data), 0.0, 2.0)
    assert len(audio) == 2 * rate
    assert Counting.bytes_read < 0.2 * len(data)


class _Refused(Exception):
    """Named like aiohttp's: classified by name, as the optional packages may be absent."""


class ClientConnectorError(Exception):
    pass


class _Status(Exception):
    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status = status


def _caused(error, cause):
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error, unreachable",
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), True),
        (TimeoutError("timed out"), True),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), True),
        (OSError(errno.EHOSTUNREACH, "No route to host"), True),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), True),
        (ClientConnectorError("cannot connect"), True),
        (_caused(FileNotFoundError("https://h/a.wav"), ClientConnectorError("down")), True),
        (_Status(503), True),
        (_Status(429), True),
        (_Status(403), False),
        (FileNotFoundError(errno.ENOENT, "No such file"), False),
        (PermissionError(errno.EACCES, "denied"), False),
        (ValueError("bad header"), False),
    ],
)
def test_transport_errors_are_told_from_file_defects(error, unreachable):
    assert (transport_error(error) is not None) == unreachable


class _FlakyFileSystem(fsspec.AbstractFileSystem):
    """Serves one file; the first ``failures`` attempts (calls of ``info``) raise ``error``, from
    ``info`` itself (``where="info"``) or from every read past the header (``where="read"``)."""

    protocol = "flaky"

    def __init__(self, data: bytes, error: Exception, failures: int, where: str = "info"):
        super().__init__()
        self.data, self.error, self.failures, self.where, self.attempts = data, error, failures, where, 0

    def info(self, path, **kwargs):
        self.attempts += 1
        if self.where == "info" and self.attempts <= self.failures:
            raise self.error
        return {"name": path, "size": len(self.data), "type": "file"}

    def _open(self, path, mode="rb", **kwargs):
        broken = self.where == "read" and self.attempts <= self.failures
        error = self.error

        class Dropping(io.BytesIO):
            def read(self, size=-1):
                if broken and self.tell() > 0:
                    raise error
                return super().read(size)

            def readinto(self, buffer):
                chunk = self.read(len(buffer))
                buffer[: len(chunk)] = chunk
                return len(chunk)

        return Dropping(self.data)


@pytest.fixture
def wav_bytes():
    buffer = io.BytesIO()
    sf.write(buffer, tone(3.0), 16_000, format="WAV")
    return buffer.getvalue()


def _serve(monkeypatch, fs):
    monkeypatch.setattr(fsspec.core, "url_to_fs", lambda url, **kwargs: (fs, url.split("://", 1)[-1]))


def test_an_unreachable_source_raises_after_retries(monkeypatch, wav_bytes):
    fs = _FlakyFileSystem(wav_bytes, ConnectionRefusedError(errno.ECONNREFUSED, "refused"), 99)
    _serve(monkeypatch, fs)
    with pytest.raises(SourceUnreachable, match="could not be reached \\(3 tries\\): ConnectionRefusedError"):
        decode_clip("https://u:pw@host/a.wav?X-Amz-Signature=s3cr3t", 0.0, 1.0)
    assert fs.attempts == audio_decoding.SOURCE_TRIES == 3
    with pytest.raises(SourceUnreachable) as raised:
        audio_decoding.probe_duration("https://host/a.wav?sig=s3cr3t")
    assert "s3cr3t" not in str(raised.value) and "pw" not in str(raised.value)


def test_a_passing_outage_is_retried(monkeypatch, wav_bytes):
    fs = _FlakyFileSystem(wav_bytes, TimeoutError("timed out"), 1)
    _serve(monkeypatch, fs)
    assert abs(decode_clip("https://host/a.wav", 0.0, 1.0).duration - 1.0) < 1e-3
    assert fs.attempts == 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # raised in libsndfile's callback
def test_a_connection_lost_while_reading_is_not_a_truncated_file(monkeypatch, wav_bytes):
    """libsndfile reads through a callback that turns exceptions into short reads."""
    fs = _FlakyFileSystem(wav_bytes, ConnectionResetError(errno.ECONNRESET, "reset"), 99, where="read")
    _serve(monkeypatch, fs)
    with pytest.raises(SourceUnreachable, match="ConnectionResetError"):
        decode_clip("https://host/a.wav", 0.0, 2.0)


def test_a_missing_file_stays_an_input_defect(monkeypatch, wav_bytes):
    _serve(monkeypatch, _FlakyFileSystem(wav_bytes, FileNotFoundError("https://host/a.wav?sig=s3cr3t"), 1))
    with pytest.raises(AudioDecodeError) as raised:
        decode_clip("https://host/a.wav?sig=s3cr3t")
    assert raised.value.kind == "missing_file" and "s3cr3t" not in str(raised.value)


def test_a_host_that_does_not_exist_is_the_rows_defect_not_an_outage():
    import socket

    from acav_assets.io.audio_decoding import transport_error, unknown_host

    class ConnectorDNSError(OSError):  # shaped like aiohttp's, which keeps the lookup error in os_error
        def __init__(self, os_error):
            super().__init__(str(os_error))
            self.os_error = os_error

    no_such_host = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    name_server_down = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    assert unknown_host(ConnectorDNSError(no_such_host)) and unknown_host(no_such_host)
    assert not unknown_host(name_server_down) and transport_error(name_server_down) is name_server_down
    assert not unknown_host(ConnectionRefusedError())
