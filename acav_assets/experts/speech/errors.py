"""The error the speech expert's model loaders raise when a model is not installed or reachable."""

from __future__ import annotations

__all__ = ["ModelUnavailableError"]


class ModelUnavailableError(RuntimeError):
    """A model's files are not installed or reachable; the message says how to get them."""
