"""How long a rate-limited or failing HTTP endpoint asks us to wait before retrying."""

from __future__ import annotations

import email.utils
import math
from datetime import datetime, timezone
from typing import Any


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date), if any."""
    if headers is None:
        return None
    try:
        value = headers.get("retry-after-ms")
        if value is not None:
            return max(float(value) / 1000.0, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            seconds = (when - datetime.now(timezone.utc)).total_seconds()
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
