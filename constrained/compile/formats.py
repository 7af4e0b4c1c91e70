"""String ``format``s as anchored regexes over their characters.

Each regex accepts a subset of the format that Python's and Pydantic's parsers and
``jsonschema``'s strictest format checkers accept (e.g. years 1000–2999, leap days only in
leap years, seconds 00–59, plain http(s) URIs), so every emitted value passes them.
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
_HOST_LABEL = r"[a-z](?:[a-z0-9-]{0,20}[a-z0-9])?"
HOSTNAME = rf"{_HOST_LABEL}(?:\.{_HOST_LABEL}){{0,3}}"
EMAIL = rf"[a-z0-9]+(?:[._+-][a-z0-9]+)*@{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,10}}"
URI = rf"https?://{HOSTNAME}(?:/[a-zA-Z0-9._~-]*)*"

FORMATS: dict[str, str] = {
    "date": DATE,
    "time": TIME,
    "date-time": rf"{DATE}T{TIME}",
    "email": EMAIL,
    "idn-email": EMAIL,
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "ipv4": rf"{_OCTET}(?:\.{_OCTET}){{3}}",
    "ipv6": r"(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}",
    "hostname": HOSTNAME,
    "idn-hostname": HOSTNAME,
    "uri": URI,
    "uri-reference": URI,
    "iri": URI,
    "iri-reference": URI,
    "uri-template": URI,
    "duration": r"P\d{1,3}[YMWD]|PT\d{1,3}[HMS]",
    "json-pointer": r"(?:/[a-z0-9]*)*",
    "relative-json-pointer": r"(?:0|[1-9]\d?)(?:/[a-z0-9]*)*",     # jsonschema's checker rejects 100+
    "regex": r"[a-z0-9]*",
}


def format_pattern(name: str) -> str | None:
    """Anchored regex for a format, None for formats that constrain nothing (unknown ones)."""
    regex = FORMATS.get(name)
    return None if regex is None else f"^(?:{regex})$"
