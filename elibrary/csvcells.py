"""CSV cells a spreadsheet will never run (CSV injection), for every CSV we hand to staff: the access log,
the import reports, the order CSV and the renewal advice.

A cell starting with a formula character gets a leading ``'`` so it is shown as text. The full-width forms
are included because Japanese Excel may read them as the ASCII ones.
"""
from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: object) -> str:
    """A cell no spreadsheet will evaluate: a leading formula character gets a ``'`` (shown, never run)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
