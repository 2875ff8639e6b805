"""Quoting a value someone sent, without copying all of it into a message or a log."""

from __future__ import annotations

EXCERPT = 80


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """`repr(value)`, cut to `limit` characters with the full size said when longer: a 1 MB
    category costs a message of about a hundred characters, not a megabyte."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"
