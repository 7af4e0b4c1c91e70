"""String ``format``s as anchored regexes over their characters.

Each regex accepts a subset of the format that Python's and Pydantic's parsers accept
(e.g. years 1000–2999, leap days only in leap years, seconds 00–59), so every emitted
value passes ``jsonschema``'s format checker and parses into ``date``/``datetime``/... .
"""
from __future__ import annotations

_YEAR = r"[12]\d{3}"
_LEAP_YEAR = r"(?:[12]\d(?:0[48]|[2468][048]|[13579][26])|(?:1[26]|2[048])00)"
_MONTH_DAY = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_HOUR = r"(?:[01]\d|2[0-3])"
TIME = rf"{_HOUR}:[0-5]\d:[0-5]\d(?:\.\d{{1,6}})?(?:Z|[+-]{_HOUR}:[0-5]\d)"
_LABEL = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

FORMATS: dict[str, str] = {
    "date": DATE,
    "time": TIME,
    "date-time": rf"{DATE}T{TIME}",
    "email": rf"[a-z0-9]+(?:[._+-][a-z0-9]+)*@{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,10}}",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "ipv4": rf"{_OCTET}(?:\.{_OCTET}){{3}}",
}

# Formats jsonschema knows how to check, which we cannot guarantee yet: refuse, don't guess.
UNSUPPORTED_FORMATS = {
    "uri", "uri-reference", "iri", "iri-reference", "ipv6", "hostname", "idn-hostname",
    "idn-email", "duration", "json-pointer", "relative-json-pointer", "regex", "uri-template",
}


def format_pattern(name: str) -> str | None:
    """Anchored regex for a supported format, None for formats that constrain nothing."""
    regex = FORMATS.get(name)
    return None if regex is None else f"^{regex}$"
