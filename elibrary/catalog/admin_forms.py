"""The staff title form: between posted fields, what the template shows, and ``TitleData``.

The form state is a plain dict of strings (plus lists for contributors, accessibility and
collections) so a form that failed validation is shown again exactly as the librarian typed it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from werkzeug.datastructures import MultiDict

from elibrary.catalog.models import Title
from elibrary.catalog.services import ContributorCredit, SubjectEntry, TitleData, title_data_of

TEXT_FIELDS = (
    "title", "title_reading", "subtitle", "series_title", "series_reading", "volume", "publisher", "published_on",
    "isbn", "ndc", "language", "audience", "age_min", "age_max", "description", "format", "page_count", "page_progression",
)
MAX_CONTRIBUTORS = 30
BLANK_CONTRIBUTOR_ROWS = 2


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def empty_form() -> dict:
    """The form for a new title."""
    state = dict.fromkeys(TEXT_FIELDS, "")
    state.update(language="ja", audience="general", format="epub-reflowable", subjects="", accessibility=[], collections=[])
    state["contributors"] = _with_blank_rows([])
    return state


def form_from_title(title: Title) -> dict:
    """The form showing an existing title."""
    data = title_data_of(title)
    state = {name: _text(getattr(data, name)) for name in TEXT_FIELDS}
    state["subjects"] = "\n".join(s.term for s in data.subjects)
    state["accessibility"] = list(data.accessibility)
    state["collections"] = list(data.collections)
    state["contributors"] = _with_blank_rows([{"name": c.name, "reading": c.reading, "role": c.role} for c in data.contributors])
    return state


def form_from_request(form: MultiDict) -> dict:
    """The form as posted (kept verbatim for showing it again)."""
    state = {name: form.get(name, "") for name in TEXT_FIELDS}
    state["subjects"] = form.get("subjects", "")
    state["accessibility"] = form.getlist("accessibility")
    state["collections"] = form.getlist("collections")
    rows = []
    for i in range(MAX_CONTRIBUTORS):
        if f"contributor-{i}-name" not in form:
            break
        rows.append({key: form.get(f"contributor-{i}-{key}", "") for key in ("name", "reading", "role")})
    state["contributors"] = _with_blank_rows([r for r in rows if r["name"].strip() or r["reading"].strip()])
    return state


def _with_blank_rows(rows: list[dict]) -> list[dict]:
    blanks = [{"name": "", "reading": "", "role": "aut"} for _ in range(BLANK_CONTRIBUTOR_ROWS)]
    return (rows + blanks)[: max(len(rows), MAX_CONTRIBUTORS)]


def title_data(state: Mapping, current: Title | None = None) -> TitleData:
    """``TitleData`` from the form; subject terms already on the title keep their reading and vocabulary."""
    known = {s.term: s for s in (current.subjects if current is not None else [])}
    subjects = []
    for line in state["subjects"].splitlines():
        term = line.strip()
        if term:
            old = known.get(term)
            subjects.append(SubjectEntry(term, old.reading, old.scheme) if old else SubjectEntry(term))
    values = {name: state[name] for name in TEXT_FIELDS}
    values["isbn"] = values["isbn"] or None
    data = TitleData(
        **values,
        accessibility=tuple(state["accessibility"]),
        collections=tuple(state["collections"]),
        contributors=tuple(
            ContributorCredit(row["name"], row["reading"], row["role"] or "aut") for row in state["contributors"]
            if row["name"].strip() or row["reading"].strip()
        ),
        subjects=tuple(subjects),
    )
    if current is not None:  # provenance is not edited here
        data.source, data.source_record_id = current.source, current.source_record_id
    return data
