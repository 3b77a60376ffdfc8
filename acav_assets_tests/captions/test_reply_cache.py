"""The reply cache in one store: a paid reply is never requested again, several processes share the
store, a killed writer leaves whole replies only, and the old per-file cache is migrated once."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from acav_assets.captions import reply_cache
from acav_assets.captions.llm_client import (
    LlmSettings,
    ReplyCache,
    request_hash,
    run_requests,
)
from acav_assets.captions.reply_cache import (
    MIGRATED_FOLDER,
    REPLY_STORE_NAME,
    MigrationCounts,
    ReplyFiles,
    ReplyStore,
    count_replies,
    migrate_reply_files,
)
from acav_assets.contracts.failures import EndpointUnreachable
from acav_assets_tests import fake_openai

MODEL = "test-model"
GOOD = '{"caption": "Rain on a tin roof."}'


def parse(answer: str) -> dict:
    value = json.loads(answer)
    if not isinstance(value, dict) or not value.get("caption"):
        raise ValueError("expected an object with a caption")
    return value


def repair(messages: list[dict], answer: str, error: str) -> list[dict]:
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": f"Invalid: {error}"}]


def split_reasoning(content: str | None, reasoning: str | None) -> tuple[str, str | None]:
    return (content or "").strip(), reasoning


def items(count: int) -> list[tuple[str, list[dict]]]:
    return [(f"clip-{i}", [{"role": "user", "content": f"Describe clip {i}."}]) for i in range(count)]


def settings(server: fake_openai.FakeOpenAI, **overrides: object) -> LlmSettings:
    values: dict = {"base_url": server.base_url, "model": MODEL, "timeout_s": 2.0, "max_retries": 1,
                    "max_repairs": 0, "concurrency": 2, "backoff_base_s": 0.001, "backoff_max_s": 0.01}
    return LlmSettings(**{**values, **overrides})


def run(server: fake_openai.FakeOpenAI, cache: ReplyCache | ReplyFiles, count: int = 5, **overrides: object) -> list:
    return run_requests(items(count), settings(server, **overrides), "v1", parse, repair, split_reasoning, cache=cache)


def hash_of(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def reply_of(writer: int, i: int, size: int = 64) -> dict:
    return {"reply": f"{writer}:{i}:" + "x" * size, "writer": writer, "i": i}


# --- same key, one request -------------------------------------------------------------------------------

def test_a_paid_reply_is_never_requested_again(tmp_path: Path) -> None:
    with fake_openai.FakeOpenAI(model=MODEL, script=[fake_openai.Reply(content=GOOD)]) as server:
        first = run(server, ReplyCache(str(tmp_path)))
        assert len(server.requests) == 5 and not any(o.cache_hit for o in first)
        # a fresh cache on the same root, as another process or a re-run opens it
        second = run(server, ReplyCache(str(tmp_path)))
        assert len(server.requests) == 5
        assert [o.value for o in second] == [o.value for o in first]
        assert all(o.cache_hit and o.requests == 0 for o in second)
    names = {p.name for p in tmp_path.iterdir()}  # the store, and its WAL files while a connection is open
    assert REPLY_STORE_NAME in names
    assert names <= {REPLY_STORE_NAME, f"{REPLY_STORE_NAME}-shm", f"{REPLY_STORE_NAME}-wal"}
    assert count_replies(str(tmp_path)) == 5


def test_replies_answered_before_an_outage_are_committed(tmp_path: Path) -> None:
    answered = fake_openai.Reply(content=GOOD)
    down = fake_openai.Reply(status=503)
    with fake_openai.FakeOpenAI(model=MODEL, script=[answered, answered, down]) as server:
        with pytest.raises(EndpointUnreachable):
            run(server, ReplyCache(str(tmp_path)), count=8, concurrency=1)
        assert count_replies(str(tmp_path)) == 2  # read through a new connection
        server.script = [answered]
        before = len(server.requests)
        again = run(server, ReplyCache(str(tmp_path)), count=8, concurrency=1)
        assert [o.cache_hit for o in again] == [True, True] + [False] * 6
        assert len(server.requests) == before + 6


# --- several processes ------------------------------------------------------------------------------------

def _write_and_read(root: str, writer: int, count: int, start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    cache = ReplyCache(root)
    for i in range(count):
        h = hash_of(writer * 10_000 + i)
        cache.put(h, reply_of(writer, i))
        assert cache.get(h) == reply_of(writer, i)
        other = cache.get(hash_of((1 - writer) * 10_000 + i))  # the other writer's, when it is there
        assert other is None or other == reply_of(1 - writer, i)


def test_two_processes_write_and_read_concurrently(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [context.Process(target=_write_and_read, args=(str(tmp_path), w, 200, start)) for w in range(2)]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(timeout=300)
    assert [p.exitcode for p in writers] == [0, 0]  # a 'database is locked' error would fail a writer
    with ReplyStore(tmp_path / REPLY_STORE_NAME) as store:
        assert len(store) == 400
        assert all(store.get(hash_of(w * 10_000 + i)) == reply_of(w, i) for w in range(2) for i in range(200))


def _put_from_child(store: ReplyStore) -> None:
    store.put(hash_of(1), reply_of(1, 1))


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    store = ReplyStore(tmp_path / REPLY_STORE_NAME)
    store.put(hash_of(0), reply_of(0, 0))
    child = multiprocessing.get_context("fork").Process(target=_put_from_child, args=(store,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert store.get(hash_of(1)) == reply_of(1, 1) and len(store) == 2


def _write_forever(root: str, size: int, written: multiprocessing.sharedctypes.Synchronized) -> None:
    cache = ReplyCache(root)
    i = 0
    while True:
        cache.put(hash_of(i), reply_of(0, i, size))
        i += 1
        written.value = i


def test_a_killed_writer_leaves_whole_replies_or_none(tmp_path: Path) -> None:
    size = 2_000_000  # large rows, so that the kill most likely lands inside a write
    context = multiprocessing.get_context("spawn")
    written = context.Value("i", 0)
    writer = context.Process(target=_write_forever, args=(str(tmp_path), size, written))
    writer.start()
    deadline = time.monotonic() + 120
    while written.value < 3 and writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(timeout=60)
    committed = written.value
    assert committed >= 3 and writer.exitcode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / REPLY_STORE_NAME) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = connection.execute("SELECT hash, reply FROM replies").fetchall()
    stored = {h: json.loads(text) for h, text in rows}
    assert committed <= len(stored) <= committed + 1  # the reply in flight is whole or absent
    assert all(stored[hash_of(i)] == reply_of(0, i, size) for i in range(len(stored)))


# --- migration from the per-file cache ---------------------------------------------------------------------

def test_migration_imports_every_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reply_cache, "_MIGRATION_BATCH", 4)  # several batches
    old = ReplyFiles(str(tmp_path))
    for i in range(25):
        old.put(hash_of(i), reply_of(0, i))
    (tmp_path / "ff").mkdir(exist_ok=True)
    (tmp_path / "ff" / f"{'f' * 64}.json").write_text("{ truncated")
    kept = hash_of(0)[:2]
    (tmp_path / kept / f"{hash_of(99)}.json.tmp-1a2b").write_text("half")  # a crashed write: not a reply
    store = ReplyStore(tmp_path / REPLY_STORE_NAME)
    store.put(hash_of(3), {"reply": "newer"})  # already stored: the store wins

    counts = migrate_reply_files(tmp_path, store)
    assert counts == MigrationCounts(imported=24, already_stored=1, unreadable=1) and counts.files == 26
    assert len(store) == 25 and store.get(hash_of(3)) == {"reply": "newer"}
    assert all(store.get(hash_of(i)) == reply_of(0, i) for i in range(25) if i != 3)
    assert len(list((tmp_path / MIGRATED_FOLDER).rglob("*.json"))) == 26
    assert not list(tmp_path.glob("??/*.json"))
    assert [p.name for p in tmp_path.glob("??")] == [kept]  # kept only for the temporary file

    assert migrate_reply_files(tmp_path, store) == MigrationCounts()  # a no-op the second time
    assert len(store) == 25


def test_opening_an_old_cache_migrates_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fake_openai.FakeOpenAI(model=MODEL, script=[fake_openai.Reply(content=GOOD)]) as server:
        run(server, ReplyFiles(str(tmp_path)), count=6)  # the cache as it was written before the store
        assert len(server.requests) == 6 and len(list(tmp_path.glob("??/*.json"))) == 6
        with caplog.at_level(logging.INFO, logger=reply_cache.__name__):
            cache = ReplyCache(str(tmp_path))
        assert "migrated 6 reply files" in caplog.text and "6 new" in caplog.text
        again = run(server, cache, count=6)
        assert len(server.requests) == 6 and all(o.cache_hit for o in again)
    h = request_hash(MODEL, "v1", items(1)[0][1], settings(server).cache_params())
    assert json.loads((tmp_path / MIGRATED_FOLDER / h[:2] / f"{h}.json").read_text()) == cache.get(h)


def test_count_replies_creates_nothing(tmp_path: Path) -> None:
    assert count_replies(str(tmp_path / "none")) == 0
    assert not (tmp_path / "none").exists()
    assert count_replies("memory://acav-reply-count") == 0
    ReplyCache("memory://acav-reply-count").put(hash_of(7), {"reply": "r"})
    assert count_replies("memory://acav-reply-count") == 1
