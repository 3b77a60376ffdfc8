"""Where valid LLM replies are kept, by request hash, so that a reply paid for is never requested again.

``ReplyCache(root)`` is what the request layer uses (``get`` / ``put``); where it keeps replies
depends on the root:

* **A local root** (a path or ``file://``) holds one SQLite database, ``{root}/replies.sqlite3``
  (:class:`ReplyStore`), instead of one file per reply (ten million clips would be ten million
  files). WAL mode lets readers run while one process writes; a busy timeout makes concurrent
  shard runs on one host wait for each other instead of failing; ``synchronous=FULL`` means
  ``put`` returns only once the reply is committed to disk, and every other process reads it
  from then on. A reply is one row, so a killed writer leaves it whole or absent. SQLite's
  locks need a host-local disk: hosts that share a cache must share an object-store root, not
  a network folder (NFS and the like).
* **An object-store root** (``s3://``, ``gs://``, any other fsspec URL) keeps one JSON object
  per reply at ``{root}/{h[:2]}/{h}.json`` (:class:`ReplyFiles`). A database cannot live in an
  object store, and a per-shard segment uploaded after the shard would lose every reply of a
  shard that dies mid-way, exactly the replies that must not be paid for twice. Each PUT is
  durable on its own, object stores hold billions of keys, and a PUT costs far less than the
  reply it keeps.

Migration: a local root that still holds the per-file layout (written before the store) is
imported when it is opened (:func:`migrate_reply_files`, logged with counts); each file is moved
to ``{root}/_migrated/`` once its reply is committed, so the next open has nothing to do and
the old files can be deleted by hand. A reply already in the store wins over its old file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import fsspec

from acav_assets.io.storage import atomic_writer

__all__ = ["MIGRATED_FOLDER", "REPLY_STORE_NAME", "MigrationCounts", "ReplyCache", "ReplyFiles", "ReplyStore",
           "count_replies", "migrate_reply_files"]

logger = logging.getLogger(__name__)

REPLY_STORE_NAME = "replies.sqlite3"
MIGRATED_FOLDER = "_migrated"
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_PREFIX_RE = re.compile(r"^[0-9a-f]{2}$")
_MIGRATION_BATCH = 1000


def _checked(h: str) -> str:
    if not isinstance(h, str) or not _HASH_RE.match(h):
        raise ValueError(f"not a SHA-256 hex digest: {h!r}")
    return h


def _encode(reply: dict) -> str:
    return json.dumps(reply, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _decode(text: str | bytes) -> dict | None:
    """The stored reply, or None when it is not a JSON object."""
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def _is_local(root: str) -> tuple[bool, str]:
    fs, path = fsspec.core.url_to_fs(root)
    return "file" in fs.protocol, path


class ReplyFiles:
    """One JSON file per reply at ``{root}/{h[:2]}/{h}.json`` (a local path or an fsspec URL),
    written atomically; safe to share between threads and processes."""

    def __init__(self, root: str) -> None:
        if not root:
            raise ValueError("ReplyFiles needs a root folder")
        self.root = str(root).rstrip("/")

    def __repr__(self) -> str:
        return f"ReplyFiles({self.root!r})"

    def url(self, h: str) -> str:
        """Where the reply for hash ``h`` lives."""
        return f"{self.root}/{_checked(h)[:2]}/{h}.json"

    def get(self, h: str) -> dict | None:
        """The stored reply, or None when absent or unreadable."""
        url = self.url(h)
        fs, path = fsspec.core.url_to_fs(url)
        try:
            with fs.open(path, "rb") as handle:
                return _decode(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("reply cache entry %s is unreadable (%s); ignoring it", url, type(error).__name__)
            return None

    def put(self, h: str, reply: dict) -> None:
        """Store ``reply`` (a JSON-serialisable dict) atomically: temporary file, then rename."""
        data = json.dumps(reply, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
        with atomic_writer(self.url(h)) as handle:
            handle.write(data)

    def __len__(self) -> int:
        fs, path = fsspec.core.url_to_fs(self.root)
        return len(fs.glob(f"{path}/??/*.json"))

    def close(self) -> None:
        """Nothing to release; here so that every cache can be closed."""


class ReplyStore:
    """Replies in one SQLite database file (WAL mode, busy timeout, a commit per ``put``); one
    connection per process, shared by its threads under a lock."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", busy_timeout_s: float = 60.0) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("ReplyStore: synchronous must be FULL or NORMAL")
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._connected()

    def __repr__(self) -> str:
        return f"ReplyStore({str(self.path)!r})"

    def _connected(self) -> sqlite3.Connection:
        """This process's connection (a forked child opens its own); call under the lock."""
        if self._connection is None or self._pid != os.getpid():
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                         check_same_thread=False)
            try:
                mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise OSError(f"reply store {self.path} cannot use WAL mode (got {mode!r})")
                connection.execute(f"PRAGMA synchronous={self.synchronous}")
                connection.execute("CREATE TABLE IF NOT EXISTS replies (hash TEXT PRIMARY KEY, reply TEXT NOT NULL)")
            except BaseException:
                connection.close()
                raise
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def get(self, h: str) -> dict | None:
        """The stored reply, or None when absent."""
        _checked(h)
        with self._lock:
            row = self._connected().execute("SELECT reply FROM replies WHERE hash = ?", (h,)).fetchone()
        if row is None:
            return None
        try:
            return _decode(row[0])
        except ValueError:
            logger.warning("reply store entry %s is unreadable; ignoring it", h[:12])
            return None

    def put(self, h: str, reply: dict) -> None:
        """Store ``reply`` (a JSON-serialisable dict), replacing any older one; committed on return."""
        text = _encode(reply)
        with self._lock:
            self._connected().execute("INSERT OR REPLACE INTO replies (hash, reply) VALUES (?, ?)", (_checked(h), text))

    def add_missing(self, entries: list[tuple[str, str]]) -> int:
        """Insert ``(hash, reply JSON)`` pairs not stored yet, in one transaction; how many were new."""
        with self._lock:
            connection = self._connected()
            before = connection.total_changes
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany("INSERT OR IGNORE INTO replies (hash, reply) VALUES (?, ?)", entries)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return connection.total_changes - before

    def __len__(self) -> int:
        with self._lock:
            return self._connected().execute("SELECT count(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class MigrationCounts:
    """What one migration did: replies new to the store, replies it already held, files that were
    not a reply (moved aside too; the old cache ignored them as well)."""

    imported: int = 0
    already_stored: int = 0
    unreadable: int = 0

    @property
    def files(self) -> int:
        return self.imported + self.already_stored + self.unreadable


def _prefix_folders(root: Path) -> list[os.DirEntry]:
    """The ``{h[:2]}`` folders of the per-file layout under ``root``."""
    try:
        return [e for e in os.scandir(root) if e.is_dir() and _PREFIX_RE.match(e.name)]
    except FileNotFoundError:
        return []


def _old_reply_files(old_root: Path) -> Iterator[tuple[str, str]]:
    """``(prefix folder, file)`` of every file in the per-file layout under ``old_root``."""
    for folder in sorted(e.name for e in _prefix_folders(old_root)):
        try:
            names = sorted(e.name for e in os.scandir(old_root / folder) if e.is_file())
        except FileNotFoundError:
            continue
        for name in names:
            if name.endswith(".json") and _HASH_RE.match(name[:-5]):
                yield folder, name


def migrate_reply_files(old_root: str | Path, store: ReplyStore) -> MigrationCounts:
    """Import the per-file cache under the local folder ``old_root`` into ``store``; each file is
    moved to ``{old_root}/_migrated/`` after its batch is committed. Idempotent: what was moved is
    not seen again, and a reply already stored is kept. Safe to run from several processes."""
    old_root = Path(old_root)
    imported = already = unreadable = 0
    batch: list[tuple[str, str, Path]] = []  # (hash, reply JSON, file)
    unreadable_files: list[Path] = []  # moved aside with the next batch

    def flush() -> None:
        nonlocal imported, already
        new = store.add_missing([(h, text) for h, text, _ in batch]) if batch else 0
        imported, already = imported + new, already + len(batch) - new
        for file in [f for _, _, f in batch] + unreadable_files:
            target = old_root / MIGRATED_FOLDER / file.parent.name / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(file, target)
            except FileNotFoundError:  # another process moved it first
                pass
        batch.clear()
        unreadable_files.clear()

    for folder, name in _old_reply_files(old_root):
        file = old_root / folder / name
        try:
            reply = _decode(file.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            reply = None
        if reply is None:
            unreadable += 1
            unreadable_files.append(file)
        else:
            batch.append((name[:-5], _encode(reply), file))
        if len(batch) + len(unreadable_files) >= _MIGRATION_BATCH:
            flush()
    flush()
    for entry in _prefix_folders(old_root):
        with contextlib.suppress(OSError):  # only empty folders go
            os.rmdir(entry.path)
    counts = MigrationCounts(imported, already, unreadable)
    if counts.files:
        logger.info("reply cache %s: migrated %d reply files into %s (%d new, %d already stored, %d unreadable); "
                    "the files are now under %s", old_root, counts.files, store.path.name, imported, already,
                    unreadable, old_root / MIGRATED_FOLDER)
    return counts


class ReplyCache:
    """Valid replies by request hash under ``root``: a :class:`ReplyStore` in a local folder (the
    per-file layout found there is migrated on open), :class:`ReplyFiles` on an object store.
    Safe to share between threads; several processes may open the same root."""

    def __init__(self, root: str) -> None:
        if not root:
            raise ValueError("ReplyCache needs a root folder")
        self.root = str(root).rstrip("/")
        local, path = _is_local(self.root)
        if local:
            self.backend: ReplyStore | ReplyFiles = ReplyStore(Path(path) / REPLY_STORE_NAME)
            migrate_reply_files(path, self.backend)
        else:
            self.backend = ReplyFiles(self.root)

    def __repr__(self) -> str:
        return f"ReplyCache({self.root!r})"

    def get(self, h: str) -> dict | None:
        """The stored reply, or None when absent or unreadable."""
        return self.backend.get(h)

    def put(self, h: str, reply: dict) -> None:
        """Store ``reply`` (a JSON-serialisable dict); durable when this returns."""
        self.backend.put(h, reply)

    def __len__(self) -> int:
        return len(self.backend)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def count_replies(root: str) -> int:
    """How many replies are cached under ``root``; creates nothing (0 when there is no cache yet)."""
    local, path = _is_local(str(root))
    if not local:
        return len(ReplyFiles(root))
    if not (Path(path) / REPLY_STORE_NAME).exists():
        return 0
    with ReplyStore(Path(path) / REPLY_STORE_NAME) as store:
        return len(store)
