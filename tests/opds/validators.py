"""Validators for what the OPDS views produce: the OPDS 2 JSON Schemas and the OPDS 1.2 RELAX NG.

OPDS 2 / auth document: ``jsonschema`` (draft-07) with a ``referencing.Registry`` that maps each
schema URL to its copy under ``tests/files/external/opds2-schema/<host>/<path>`` (no network), rewriting
ECMAScript named groups ``(?<`` to Python's ``(?P<``.

OPDS 1.2, lenient profile: the strict ``opds_v1.2.fixed-issue3`` schema forbids every ``opds:`` element
OPDS 1.2 does not define, including the lending extensions of "OPDS For Library Patrons". The lenient
profile (1) checks those extensions' own shape here — ``opds:availability`` with a ``status`` of
available/unavailable/reserved/ready and RFC 3339 ``since``/``until``, ``opds:holds`` with integer
``total``/``position``, ``opds:copies`` with integer ``total``/``available``, only inside an
``atom:link`` — then (2) removes them and validates the rest against the strict schema unchanged.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

from jsonschema import Draft7Validator
from lxml import etree
from referencing import Registry, Resource

from tests.conftest import EXTERNAL

SCHEMAS = EXTERNAL / "opds2-schema"
RNG = EXTERNAL / "opds1-relaxng" / "rng" / "opds_v1.2.fixed-issue3.rng"
RNC = EXTERNAL / "opds1-relaxng" / "opds_v1.2.fixed-issue3.rnc"
OPDS = "http://opds-spec.org/2010/catalog"
ATOM = "http://www.w3.org/2005/Atom"
LENDING_ELEMENTS = ("availability", "holds", "copies")
STATES = {"available", "unavailable", "reserved", "ready"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _local_path(uri: str) -> Path:
    assert uri.startswith("https://"), uri
    return SCHEMAS / uri.removeprefix("https://")


def _retrieve(uri: str) -> Resource:
    text = _local_path(uri).read_text(encoding="utf-8").replace("(?<", "(?P<")
    return Resource.from_contents(json.loads(text))


@functools.cache
def _registry() -> Registry:
    # Every local schema loaded once: a retrieve-only registry would re-read files on each validation.
    resources = []
    for path in SCHEMAS.rglob("*.schema.json"):
        uri = "https://" + path.relative_to(SCHEMAS).as_posix()
        resources.append((uri, _retrieve(uri)))
    return Registry(retrieve=_retrieve).with_resources(resources).crawl()


@functools.cache
def _validator(schema_url: str) -> Draft7Validator:
    registry = _registry()
    schema = _retrieve(schema_url).contents
    return Draft7Validator(schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)


FEED = "https://drafts.opds.io/schema/feed.schema.json"
PUBLICATION = "https://drafts.opds.io/schema/publication.schema.json"
AUTHENTICATION = "https://drafts.opds.io/schema/authentication.schema.json"
FEED_SPECS = "https://specs.opds.io/schema/feed.schema.json"


def json_errors(document: dict, schema_url: str = FEED) -> list[str]:
    """Schema errors of an OPDS 2 document (empty when valid)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(schema_url).iter_errors(document)]


@functools.cache
def _relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(RNG)))


def lending_extension_errors(root: etree._Element) -> list[str]:
    """Shape errors of the lending extensions (the part of the lenient profile the RNG cannot check)."""
    errors = []
    for name in LENDING_ELEMENTS:
        for element in root.iter(f"{{{OPDS}}}{name}"):
            if element.getparent().tag != f"{{{ATOM}}}link":
                errors.append(f"opds:{name} outside atom:link")
            if name == "availability":
                if element.get("status") not in STATES:
                    errors.append(f"opds:availability status={element.get('status')!r}")
                errors += [f"opds:availability {a}={element.get(a)!r}" for a in ("since", "until") if element.get(a) and not RFC3339.match(element.get(a))]
            attrs = {"holds": ("total", "position"), "copies": ("total", "available")}.get(name, ())
            errors += [f"opds:{name} {a}={element.get(a)!r}" for a in attrs if element.get(a) is not None and not element.get(a).isdigit()]
            if name in ("holds", "copies") and element.get("total") is None:
                errors.append(f"opds:{name} without total")
    return errors


def strip_lending_extensions(root: etree._Element) -> etree._Element:
    """A copy without ``opds:availability``, ``opds:holds`` and ``opds:copies``."""
    stripped = copy.deepcopy(root)
    for name in LENDING_ELEMENTS:
        for element in list(stripped.iter(f"{{{OPDS}}}{name}")):
            element.getparent().remove(element)
    return stripped


def atom_errors(body: bytes) -> list[str]:
    """Errors of an OPDS 1.2 feed or entry under the lenient profile (empty when valid)."""
    root = etree.fromstring(body)
    errors = lending_extension_errors(root)
    schema = _relaxng()
    if not schema.validate(etree.ElementTree(strip_lending_extensions(root))):
        errors += [f"line {e.line}: {e.message}" for e in schema.error_log]
    return errors
