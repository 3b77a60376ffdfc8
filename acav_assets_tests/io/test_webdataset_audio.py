import gzip
import io
import json
import tarfile

import numpy as np
import pytest
import soundfile as sf

from acav_assets.io.webdataset_audio import iter_audio_samples, shard_urls


def _flac(audio: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="FLAC")
    return buffer.getvalue()


def _write_shard(path, members: list[tuple[str, bytes]], gz: bool = False) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()) if gz else raw.getvalue())


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([tone] * channels, axis=1) if channels > 1 else tone


def test_mecat_style_gzip_shards_with_a_brace_pattern(tmp_path):
    folder = tmp_path / "00A"
    folder.mkdir()
    for n in range(2):
        key = f"abcdefghij{n}_0_10"
        _write_shard(folder / f"test_{n:04d}-0000000.tar.gz",
                     [(f"{key}.flac", _flac(_tone(1.0, 16000), 16000)),
                      (f"{key}.json", json.dumps({"domain": "00A"}).encode())], gz=True)
    pattern = str(folder / "test_{0000..0001}-0000000.tar.gz")
    assert shard_urls(pattern) == shard_urls(str(tmp_path)) == shard_urls(str(folder / "*.tar.gz"))
    samples = list(iter_audio_samples(pattern))
    assert [s.key for s in samples] == ["abcdefghij0_0_10", "abcdefghij1_0_10"]
    assert all(s.error is None and s.meta == {"domain": "00A"} and s.audio.shape == (16000,) for s in samples)
    assert samples[0].audio.dtype == np.float32


def test_odd_rates_channels_and_bad_members_are_reported_per_sample(tmp_path):
    shard = tmp_path / "train-000000.tar"
    _write_shard(shard, [
        ("stereo48k.flac", _flac(_tone(0.5, 48000, channels=2), 48000)),
        ("stereo48k.json", b'{"long": ["a tone"]}'),
        ("broken.flac", b"not a flac at all"),
        ("broken.json", b"{}"),
        ("badjson.flac", _flac(_tone(0.25, 16000), 16000)),
        ("badjson.json", b"{truncated"),
        ("noaudio.json", b"{}"),
        ("good.flac", _flac(_tone(0.25, 16000), 16000)),
        ("good.json", b"{}"),
    ])
    samples = {s.key: s for s in iter_audio_samples(str(shard))}
    assert samples["stereo48k"].audio.shape == (8000,) and samples["stereo48k"].error is None
    assert abs(float(np.abs(samples["stereo48k"].audio).max()) - 0.5) < 0.05
    assert samples["broken"].audio is None and "undecodable audio" in samples["broken"].error
    assert samples["badjson"].audio is not None and "invalid json" in samples["badjson"].error
    assert samples["noaudio"].error == "no flac member"
    assert samples["good"].error is None
    only = list(iter_audio_samples(str(shard), keys={"good"}))
    assert [s.key for s in only] == ["good"]


def test_missing_and_truncated_shards_fail_with_their_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="no WebDataset shards"):
        shard_urls(str(tmp_path))
    shard = tmp_path / "cut.tar.gz"
    _write_shard(shard, [("a.flac", _flac(_tone(1.0, 16000), 16000)), ("a.json", b"{}")], gz=True)
    shard.write_bytes(shard.read_bytes()[:200])
    with pytest.raises(OSError, match="cut.tar.gz: unreadable WebDataset shard"):
        list(iter_audio_samples(str(shard)))
