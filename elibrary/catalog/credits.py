"""A title's contributors and subjects as plain values: what forms, imports and the demo give the catalog.

Kept apart from ``services`` (which needs the database) so parsers, including the import's parser
process, can build them without loading SQLAlchemy models.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContributorCredit:
    """A contributor as entered: name, reading (katakana) and MARC role (aut, trl, ill ...)."""

    name: str
    reading: str = ""
    role: str = "aut"


@dataclass(frozen=True)
class SubjectEntry:
    """A subject heading (件名), class or keyword, with its reading and vocabulary (keyword, ndlsh, bsh, ccode, genre)."""

    term: str
    reading: str = ""
    scheme: str = "keyword"
