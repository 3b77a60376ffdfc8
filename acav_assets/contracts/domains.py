"""Domain codes, their letter positions, and the status (and error text) every per-clip row carries.

A domain is three letters, speech / music / other sound, ``0`` where that part is absent:
``000 00A 0M0 0MA S00 S0A SM0 SMA`` (the ACAVCaps and MECAT domains).
"""

from __future__ import annotations

DOMAINS = ("000", "00A", "0M0", "0MA", "S00", "S0A", "SM0", "SMA")
PARTS = ("speech", "music", "sound")
# Position and letter of each part in a domain code.
PART_POSITION = {"speech": 0, "music": 1, "sound": 2}
PART_LETTER = {"speech": "S", "music": "M", "sound": "A"}
DOMAIN_LETTERS = ("S", "M", "A")
ABSENT = "0"
SILENT_DOMAIN = "000"

# Every per-clip table has a status column with one of these and an error column saying why.
STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUSES = (STATUS_OK, STATUS_ERROR)


def has_part(domain: str | None, part: str) -> bool:
    """Whether ``domain`` marks ``part`` (speech, music or sound) present."""
    return bool(domain) and domain[PART_POSITION[part]] != ABSENT


def domain_code(speech: bool, music: bool, sound: bool) -> str:
    """The three-letter code of a clip with the given parts present."""
    return "".join(letter if present else ABSENT for letter, present in zip(DOMAIN_LETTERS, (speech, music, sound)))


def error_text(error: BaseException) -> str:
    """What a row's error column says about an exception: its type and message."""
    return f"{type(error).__name__}: {error}"
