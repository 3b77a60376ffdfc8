"""Which model code and which checkpoints the pipeline may load.

*Remote code.* ``trust_remote_code`` runs Python shipped with a model. It is honoured only for a
model whose config declares such code (``auto_map``) and only at a (hub id, 40-hex commit) pair
in :data:`TRUSTED_REMOTE_CODE` or in ``$ACAV_TRUSTED_REMOTE_CODE`` (``org/model@<commit>,...``);
a branch name such as ``main`` is loaded at the model's one allowlisted commit. A model without
declared code loads with ``trust_remote_code=False``. A local folder qualifies when the commit
its download recorded (``hf download --local-dir`` writes ``.cache/huggingface/download/*.metadata``;
every code and config file must be listed there and unmodified since) is allowlisted, or when
the caller vouches for it with a recorded pair (a training checkpoint's pinned run config).

*Checkpoints.* Every ``torch.load`` goes through :func:`verify_checkpoint`: the file's sha256
must be a known published sum or match its ``<file>.sha256`` sidecar (written by the project
when it saved the file), unless ``$ACAV_UNVERIFIED_CHECKPOINTS`` names the file (a bare name
matches that name anywhere, a path that one file).

No Dagster imports."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from acav_assets.io.storage import sha256_file

log = logging.getLogger(__name__)

TRUSTED_REMOTE_CODE_ENV = "ACAV_TRUSTED_REMOTE_CODE"
UNVERIFIED_CHECKPOINTS_ENV = "ACAV_UNVERIFIED_CHECKPOINTS"
# Built-in pairs: none. No hub commit of CED-Base or Dasheng-Base could be looked up and audited
# where this was written, so an operator pins the audited commit through the variable.
TRUSTED_REMOTE_CODE: frozenset[tuple[str, str]] = frozenset()
COMMIT = re.compile(r"[0-9a-f]{40}")
CONFIG_FILES = ("config.json", "preprocessor_config.json")
DOWNLOAD_RECORDS = Path(".cache") / "huggingface" / "download"


class UntrustedRemoteCode(RuntimeError):
    """A model would run its own Python code without being pinned to an allowlisted commit."""


class UnverifiedCheckpoint(ValueError):
    """A checkpoint's sha256 is unknown or wrong and nobody opted out of the check."""


def _names(variable: str) -> list[str]:
    return [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]


def operator_settings() -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """The operator's additions from the environment: (model id, commit) pairs allowed to run
    remote code, and checkpoint names or paths loaded without a checksum."""
    pairs = set()
    for item in _names(TRUSTED_REMOTE_CODE_ENV):
        model, _, commit = item.rpartition("@")
        if not model or not COMMIT.fullmatch(commit):
            raise ValueError(f"{TRUSTED_REMOTE_CODE_ENV}: {item!r} is not 'org/model@<40-hex commit>'")
        pairs.add((model, commit))
    return frozenset(pairs), frozenset(_names(UNVERIFIED_CHECKPOINTS_ENV))


def trusted_pairs() -> frozenset[tuple[str, str]]:
    return TRUSTED_REMOTE_CODE | operator_settings()[0]


def _how_to_pin(model: str) -> str:
    return (f"audit the model's Python files at one commit and allow that commit: "
            f"{TRUSTED_REMOTE_CODE_ENV}='{model}@<40-hex commit>' (comma-separated pairs)")


def trusted_revision(model: str, revision: str | None) -> str:
    """The allowlisted commit to load ``model``'s code at: ``revision`` itself, or for a branch
    (or none) the model's only allowlisted commit; else :class:`UntrustedRemoteCode`."""
    commits = sorted(c for m, c in trusted_pairs() if m == model)
    if revision in commits:
        return revision
    if not (revision and COMMIT.fullmatch(revision)) and len(commits) == 1:
        return commits[0]
    raise UntrustedRemoteCode(
        f"{model} at revision {revision or 'main'} runs its own Python code (trust_remote_code), which is "
        f"allowed only at an allowlisted commit (allowed for it: {commits or 'none'}); {_how_to_pin(model)}")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _configs(source: str, revision: str | None) -> list[dict]:
    """The config files of a folder, or of a hub model as far as the hub or its cache serves
    them (JSON only: reading them runs nothing)."""
    if Path(source).is_dir():
        return [_read_json(Path(source) / name) for name in CONFIG_FILES]
    from huggingface_hub import hf_hub_download

    out = []
    for name in CONFIG_FILES:
        try:
            out.append(_read_json(Path(hf_hub_download(source, name, revision=revision))))
        except (OSError, ValueError):  # absent, not cached offline, or no such model: loading says why
            out.append({})
    return out


def declared_code(source: str, revision: str | None = None) -> list[str]:
    """The ``auto_map`` classes of a model's configs: the code ``trust_remote_code`` would run."""
    found = []
    for config in _configs(source, revision):
        for value in (config.get("auto_map") or {}).values():
            found += value if isinstance(value, list) else [value]
    return [str(v) for v in found if v]


def recorded_commit(folder: str | Path) -> str | None:
    """The one hub commit a ``hf download --local-dir`` folder recorded for all its ``*.py`` and
    config files, each unmodified since; None when any is unrecorded, changed or they disagree."""
    folder = Path(folder)
    files = list(folder.rglob("*.py")) + [folder / name for name in CONFIG_FILES if (folder / name).exists()]
    commits = set()
    for path in files:
        record = folder / DOWNLOAD_RECORDS / f"{path.relative_to(folder)}.metadata"
        try:
            commit, _etag, stamp = record.read_text().splitlines()[:3]
            if path.stat().st_mtime - 1 > float(stamp):
                return None
        except (OSError, ValueError):
            return None
        commits.add(commit.strip())
    return commits.pop() if len(commits) == 1 else None


def remote_code_options(source: str, revision: str | None = None, requested: bool = True,
                        recorded: tuple[str, str | None] | None = None) -> tuple[str | None, bool]:
    """``(revision, trust_remote_code)`` to load ``source`` (hub id or folder) with: remote code
    only when requested, declared by the model and pinned to an allowlisted commit (a folder: its
    download record, or ``recorded``, a (hub id, revision) the caller saved with it); otherwise
    :class:`UntrustedRemoteCode` naming ``$ACAV_TRUSTED_REMOTE_CODE``."""
    if not requested:
        return revision, False
    if Path(source).is_dir():
        code = declared_code(source)
        if not code:
            return revision, False
        _refuse_foreign_code(source, code)
        commit = recorded_commit(source)
        if commit is not None and commit in {c for _, c in trusted_pairs()}:
            return revision, True
        if recorded is not None:
            trusted_revision(recorded[0], recorded[1])
            return revision, True
        raise UntrustedRemoteCode(
            f"the folder {source} carries its own Python code ({', '.join(code[:3])}) but no allowlisted "
            f"commit (download record: {commit or 'none or modified'}); download it with `hf download MODEL "
            f"--revision <commit> --local-dir {source}` and {_how_to_pin('MODEL')}")
    allowed = {c for m, c in trusted_pairs() if m == source}
    candidate = revision if revision in allowed else (next(iter(allowed)) if len(allowed) == 1 else revision)
    code = declared_code(source, candidate)
    if not code:
        return revision, False
    _refuse_foreign_code(source, code)
    return trusted_revision(source, revision), True


def _refuse_foreign_code(source: str, code: Iterable[str]) -> None:
    foreign = [c for c in code if "--" in c]  # "other/repo--module.Class": code no commit here pins
    if foreign:
        raise UntrustedRemoteCode(f"{source} takes code from another repository ({foreign[0]}); refusing to run it")


def sidecar(path: str | Path) -> Path:
    return Path(f"{path}.sha256")


def write_sidecar(path: str | Path) -> Path:
    """Record ``path``'s sha256 beside it (``sha256sum`` format) for :func:`verify_checkpoint`."""
    out = sidecar(path)
    out.write_text(f"{sha256_file(path)}  {Path(path).name}\n")
    return out


def verify_checkpoint(path: str | Path, known: Iterable[str] = (), use_sidecar: bool = True) -> None:
    """Raise :class:`UnverifiedCheckpoint` unless ``path``'s sha256 is in ``known``, matches its
    sidecar (with ``use_sidecar``), or ``$ACAV_UNVERIFIED_CHECKPOINTS`` names the file."""
    path = Path(path)
    opted_out = operator_settings()[1]
    if path.name in opted_out or str(path.resolve()) in {str(Path(p).resolve()) for p in opted_out}:
        log.warning("loading %s without a checksum (%s names it)", path, UNVERIFIED_CHECKPOINTS_ENV)
        return
    actual, known = sha256_file(path), set(known)
    recorded = sidecar(path)
    if use_sidecar and recorded.is_file():
        expected = (recorded.read_text().split() or [""])[0].lower()
        if actual == expected or actual in known:
            return
        problem = f"sha256 {actual} does not match {recorded.name} ({expected})"
    elif actual in known:
        return
    elif known:
        problem = f"sha256 {actual} does not match any published checkpoint"
    else:
        problem = "no checksum to verify it against" + (f" (no {recorded.name})" if use_sidecar else "")
    raise UnverifiedCheckpoint(
        f"{path}: {problem}; to load it anyway, name it in {UNVERIFIED_CHECKPOINTS_ENV}={path.name} "
        "(comma-separated file names or paths)")
