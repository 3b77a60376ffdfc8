"""decode_shard on unreachable sources, URLs with secrets and windows past the limit."""

import errno
import io
import logging
import os

import fsspec
import pyarrow as pa
import pytest
import soundfile as sf

from acav_assets.contracts.failures import SourceUnreachable, SystemicFailure
from acav_assets.ingest import clip_decoding
from acav_assets.ingest.clip_decoding import INPUT_DEFECTS, decode_shard
from acav_assets.ingest.manifests import PLANNED_CLIP_SCHEMA
from acav_assets.io import audio_decoding
from acav_assets_tests.fixtures import tone


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(audio_decoding, "RETRY_DELAY_S", 0.0)


def make_plan(*sources: str, end: float | None = 2.0) -> pa.Table:
    rows = [dict(key=f"clip{i}_0_2", shard="test-00000", source=source, start_s=0.0, end_s=end, source_id=f"clip{i}")
            for i, source in enumerate(sources)]
    return pa.Table.from_pylist(rows, schema=PLANNED_CLIP_SCHEMA)


class RefusingFileSystem(fsspec.AbstractFileSystem):
    """An object store whose endpoint refuses every connection."""

    protocol = "refusing"
    cachable = False

    def info(self, path, **kwargs):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


@pytest.fixture
def good_wav(tmp_path):
    sf.write(tmp_path / "good.wav", tone(3.0), 16_000)
    return str(tmp_path / "good.wav")


def test_an_unreachable_source_fails_the_shard(tmp_path, good_wav):
    fsspec.register_implementation("refusing", RefusingFileSystem, clobber=True)
    tar = tmp_path / "shard.tar"
    with pytest.raises(SourceUnreachable, match="ConnectionRefusedError"):
        decode_shard(make_plan(good_wav, "refusing://store/a.wav", good_wav), str(tar), workers=2)
    assert not tar.exists()  # the previous output, if any, stays in place


def test_a_systemic_failure_is_not_a_clip_error_but_other_exceptions_are(monkeypatch, tmp_path, good_wav):
    def broken_decoder(url, *args, **kwargs):
        raise SystemicFailure("the decoder cannot run")

    monkeypatch.setattr(clip_decoding, "decode_clip", broken_decoder)
    with pytest.raises(SystemicFailure):
        decode_shard(make_plan(good_wav), str(tmp_path / "a.tar"))

    def buggy_decoder(url, *args, **kwargs):
        raise KeyError(f"bug while reading {url}")

    monkeypatch.setattr(clip_decoding, "decode_clip", buggy_decoder)
    (row,) = decode_shard(make_plan("https://h/a.wav?sig=abc123"), str(tmp_path / "b.tar")).to_pylist()
    assert row["error_kind"] == "decoder_exception" and "decoder_exception" not in INPUT_DEFECTS
    assert "abc123" not in row["error"] and "https://h/a.wav?<redacted>" in row["error"]


def test_a_shard_whose_every_file_is_missing_is_a_broken_source(tmp_path, good_wav):
    """Three clips, all missing: the disk is not mounted. One missing file, or missing files beside
    a good one, stay per-clip defects."""
    gone = [str(tmp_path / "unmounted" / f"{i}.wav") for i in range(3)]
    with pytest.raises(SourceUnreachable, match="all 3 clips of the shard failed with missing_file"):
        decode_shard(make_plan(*gone), str(tmp_path / "a.tar"))
    assert not (tmp_path / "a.tar").exists()
    (row,) = decode_shard(make_plan(gone[0]), str(tmp_path / "b.tar")).to_pylist()
    assert row["error_kind"] == "missing_file"
    rows = decode_shard(make_plan(*gone, good_wav), str(tmp_path / "c.tar")).to_pylist()
    assert [row["status"] for row in rows] == ["error"] * 3 + ["ok"]


def test_error_kinds_are_input_defects(bad_corpus, tmp_path):
    """Every reason the bad corpus, random bytes and too-long windows get is an explained defect."""
    folder = bad_corpus["folder"]
    (tmp_path / "noise.mp3").write_bytes(os.urandom(50_000))
    sources = [str(folder / name) for name in bad_corpus["expected"]] + [str(tmp_path / "noise.mp3")]
    table = decode_shard(make_plan(*sources, end=None), str(tmp_path / "a.tar"), max_clip_seconds=2.5)
    kinds = {row["error_kind"] for row in table.to_pylist() if row["status"] != "ok"}
    assert kinds >= {"missing_file", "empty_file", "unreadable_format", "non_finite_samples", "window_too_long"}
    assert kinds <= INPUT_DEFECTS


def test_without_an_end_the_limit_stops_decoding(tmp_path):
    """A clip planned to the end of a 60 s file (its length could not be probed) with a 5 s limit:
    refused, not stored whole."""
    sf.write(tmp_path / "long.wav", tone(60.0), 16_000)
    (row,) = decode_shard(make_plan(str(tmp_path / "long.wav"), end=None), str(tmp_path / "a.tar"),
                          max_clip_seconds=5.0).to_pylist()
    assert row["status"] == "error" and row["error_kind"] == "window_too_long"
    assert "5 s limit" in row["error"]


def test_url_secrets_reach_no_table_tar_or_log(tmp_path, caplog):
    """The plan keeps the presigned URLs to read from; the clips table, the tar's metadata, the
    errors and the log carry them redacted."""
    fs = fsspec.filesystem("memory")
    good = "memory://acav-test-bucket/good.wav?X-Amz-Credential=AKIAsecret1&X-Amz-Signature=abc123secret2"
    fake = "memory://user:pwsecret3@acav-test-bucket/noise.mp3?token=toksecret4"
    gone = "memory://acav-test-bucket/gone.wav?sv=2022&sig=sigsecret5"
    buffer = io.BytesIO()
    sf.write(buffer, tone(3.0), 16_000, format="WAV")
    fs.pipe(fsspec.core.url_to_fs(good)[1], buffer.getvalue())
    fs.pipe(fsspec.core.url_to_fs(fake)[1], os.urandom(50_000))
    plan = make_plan(good, fake, gone)
    try:
        with caplog.at_level(logging.DEBUG, logger="acav_assets"):  # (fsspec's own debug log names paths)
            table = decode_shard(plan, str(tmp_path / "a.tar"), progress_every_s=0.0)
    finally:
        fs.rm("/acav-test-bucket", recursive=True)
    rows = table.to_pylist()
    assert [row["status"] for row in rows] == ["ok", "error", "error"]
    assert [row["source"] for row in rows] == [
        "memory://acav-test-bucket/good.wav?<redacted>",
        "memory://acav-test-bucket/noise.mp3?<redacted>",
        "memory://acav-test-bucket/gone.wav?<redacted>",
    ]
    assert plan["source"].to_pylist() == [good, fake, gone]
    stored = str(rows) + (tmp_path / "a.tar").read_bytes().decode("latin-1") + caplog.text
    for secret in ["secret1", "secret2", "secret3", "secret4", "secret5"]:
        assert secret not in stored, secret
    assert "gone.wav?<redacted>" in caplog.text
