import numpy as np
import pytest
import soundfile as sf

from acav_assets.io.audio_decoding import (
    TARGET_RATE,
    AudioDecodeError,
    decode_clip,
    probe_duration,
)
from acav_assets_tests.fixtures import tone


def dominant_frequency(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * TARGET_RATE / len(audio))


@pytest.mark.parametrize("name", ["good.flac", "good.mp3", "good.ogg", "video.mp4", "eight_channels_96k.wav", "café ü.wav"])
def test_every_format_decodes_to_16k_mono(bad_corpus, name):
    clip = decode_clip(str(bad_corpus["folder"] / name), 0.5, 1.5)
    assert clip.audio.dtype == np.float32 and clip.audio.ndim == 1
    assert abs(clip.duration - 1.0) < 0.03
    assert abs(dominant_frequency(clip.audio) - 440.0) < 5.0  # the tone survives resampling
    assert 0.45 < np.abs(clip.audio).max() < 0.56


def test_original_format_is_reported(bad_corpus):
    clip = decode_clip(str(bad_corpus["folder"] / "eight_channels_96k.wav"))
    assert (clip.original_rate, clip.original_channels) == (96_000, 8)
    assert abs(clip.duration - 2.0) < 1e-3


def test_window_is_cut_exactly(tmp_path):
    # A click every second: the window [2.25, 4.25) must hold the clicks at 3 s and 4 s only.
    audio = np.zeros(6 * 44_100, np.float32)
    audio[:: 44_100] = 1.0
    sf.write(tmp_path / "clicks.wav", audio, 44_100, subtype="FLOAT")
    clip = decode_clip(str(tmp_path / "clicks.wav"), 2.25, 4.25)
    peaks = np.flatnonzero(np.abs(clip.audio) > 0.3) / TARGET_RATE
    assert abs(clip.duration - 2.0) < 1e-3
    assert np.allclose(np.unique(np.round(peaks, 2)), [0.75, 1.75], atol=0.01)


def test_stereo_is_averaged(tmp_path):
    left, right = tone(1.0), np.zeros(TARGET_RATE, np.float32)
    sf.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), TARGET_RATE, subtype="FLOAT")
    clip = decode_clip(str(tmp_path / "stereo.wav"))
    assert np.allclose(clip.audio, left / 2, atol=1e-6)


@pytest.mark.parametrize(
    "name, kind",
    [
        ("zero_length.wav", "empty_file"),
        ("text.wav", "unreadable_format"),
        ("nan_inf.wav", "non_finite_samples"),
        ("missing.wav", "missing_file"),
        ("truncated.flac", "truncated_or_corrupt"),
    ],
)
def test_bad_files_raise_a_clear_reason(bad_corpus, name, kind):
    with pytest.raises(AudioDecodeError) as raised:
        decode_clip(str(bad_corpus["folder"] / name))
    assert raised.value.kind == kind
    assert raised.value.message


def test_truncated_wav_decodes_what_is_present_with_a_warning(bad_corpus):
    clip = decode_clip(str(bad_corpus["folder"] / "truncated.wav"))
    assert 3.9 < clip.duration < 4.1
    assert "truncated" in clip.warning and "8.00 s" in clip.warning


def test_window_past_the_end(bad_corpus):
    with pytest.raises(AudioDecodeError) as raised:
        decode_clip(str(bad_corpus["folder"] / "good.flac"), 10.0, 20.0)
    assert raised.value.kind == "window_out_of_range"


def test_probe_duration(bad_corpus):
    folder = bad_corpus["folder"]
    assert probe_duration(str(folder / "thirty_minutes.wav")) == pytest.approx(1800.0)
    assert probe_duration(str(folder / "video.mp4")) == pytest.approx(3.0, abs=0.1)
    assert probe_duration(str(folder / "text.wav")) is None
    assert probe_duration(str(folder / "missing.wav")) is None


def test_an_unreachable_location_is_a_reason_not_a_crash(monkeypatch):
    """A URL whose filesystem is unknown, or needs packages that are not installed (http:// without
    aiohttp), gets a per-clip reason; probing it during planning returns no duration."""
    import fsspec

    from acav_assets.io.audio_decoding import (
        AudioDecodeError,
        decode_clip,
        probe_duration,
    )

    with pytest.raises(AudioDecodeError) as unknown:
        decode_clip("nosuchproto://host/a.wav", 0.0, 5.0)
    assert unknown.value.kind == "unsupported_location"

    def needs_packages(url, **kwargs):
        raise ImportError('HTTPFileSystem requires "requests" and "aiohttp" to be installed')

    monkeypatch.setattr(fsspec.core, "url_to_fs", needs_packages)
    with pytest.raises(AudioDecodeError, match="cannot be reached from here: HTTPFileSystem requires"):
        decode_clip("http://host.invalid/a.wav", 0.0, 5.0)
    assert probe_duration("http://host.invalid/a.wav") is None
