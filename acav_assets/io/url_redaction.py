"""URLs as they may be stored or logged: without credentials or signed query strings.

A presigned object-store URL (``?X-Amz-Signature=...``, an Azure SAS ``?sv=...&sig=...``) or a
``user:password@host`` URL grants access to whoever reads it, so tables, tars, logs and error
messages carry :func:`redact_url`'s form; only the plan keeps the real URL, to read the audio.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}|\\^`]+")
# A secret-looking parameter outside a URL (e.g. a query string quoted alone in an error message).
_SECRET_PARAMETER = re.compile(
    r"(?i)\b((?:x-amz-|x-goog-)[\w-]+|signature|sig|token|key|credential|security-token|password|sv|se|sp|sr)"
    r"=[^&\s'\"]+"
)


def redact_url(url: str) -> str:
    """``url`` with its user info, query string and fragment removed (``?<redacted>`` marks that
    something was); a plain path, without ``scheme://``, is returned unchanged."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    location, removed = rest[:cut], cut < len(rest)
    netloc, slash, path = location.partition("/")
    if "@" in netloc:
        netloc, removed = netloc.rpartition("@")[2], True
    return f"{scheme}://{netloc}{slash}{path}" + (f"?{REDACTED}" if removed else "")


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted and any secret-looking ``name=value`` blanked."""
    text = _URL.sub(lambda match: redact_url(match.group()), text)
    return _SECRET_PARAMETER.sub(lambda match: f"{match.group(1)}={REDACTED}", text)
