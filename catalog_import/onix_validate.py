"""``--validate``: check an ONIX message against EDItEUR's XSD (3.0 or 3.1, reference or short tags).

EDItEUR's unmodified XSDs come with the ``onixcheck`` package (Apache-2.0; the schemas under EDItEUR's own
terms), a dependency of elibrary, so validation works on a plain install. ``ELIBRARY_ONIX_SCHEMA_PATH`` may
name another folder holding ``xsd3.0/`` and ``xsd3.1/`` as EDItEUR publishes them (a newer code-list issue).
A message with a namespace is validated while streaming; one without (the onixcheck samples) is given the
reference namespace first, which needs it in memory, so it is bounded.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from catalog_import.records import Problem
from catalog_import.xmlsafe import UnsafeXML, clear_seen, hardened_parser, is_entity_attack, local_name, refuse_entity_declarations

MAX_PROBLEMS = 50
MAX_IN_MEMORY = 64 * 1024 * 1024


def _packaged_schemas() -> Path:
    """``onixcheck/schema``, found without importing onixcheck (its import pulls in more than the files)."""
    spec = importlib.util.find_spec("onixcheck")
    if spec is None or not spec.submodule_search_locations:
        return Path("onixcheck-is-not-installed")  # _schema_file then reports the missing XSD clearly
    return Path(next(iter(spec.submodule_search_locations))) / "schema"


def schema_path(configured: str | None) -> Path:
    """The folder with the XSDs: the setting, else the copy shipped in the ``onixcheck`` package."""
    return Path(configured) if configured else _packaged_schemas()


@functools.lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path, hardened_parser()))


def _schema_file(folder: Path, release: str, short: bool) -> Path:
    return folder / f"xsd{release}" / f"ONIX_BookProduct_{release}_{'short' if short else 'reference'}.xsd"


def _sniff(stream: BinaryIO) -> tuple[str | None, str, bool]:
    """Namespace, release and tag style of the message, from its root element."""
    for _event, element in etree.iterparse(stream, events=("start",), resolve_entities=False, no_network=True, load_dtd=False):
        refuse_entity_declarations(element)
        namespace = etree.QName(element).namespace
        short = local_name(element.tag) == "ONIXmessage" or (namespace or "").endswith("/short")
        release = "3.1" if "/3.1/" in (namespace or "") or element.get("release") == "3.1" else "3.0"
        return namespace, release, short
    return None, "3.0", False


def validate_onix(stream: BinaryIO, folder: Path) -> list[Problem]:
    """Schema problems of the message (``[]`` when valid); each names the line it was found on."""
    try:
        namespace, release, short = _sniff(stream)
    except UnsafeXML:
        return [_ENTITIES_REFUSED]
    except etree.XMLSyntaxError as exc:
        return [_malformed(exc)]
    stream.seek(0)
    xsd = _schema_file(folder, release, short)
    if not xsd.exists():
        return [Problem("file", f"ONIX {release} のスキーマ（XSD）が見つかりません: {xsd}",
                        f"The ONIX {release} schema (XSD) was not found: {xsd}", fatal=True)]
    schema = _schema(str(xsd))
    if namespace:
        return _validate_streaming(stream, schema)
    return _validate_with_namespace(stream, schema, release, short)


def _validate_streaming(stream: BinaryIO, schema: etree.XMLSchema) -> list[Problem]:
    parser = etree.iterparse(stream, events=("end",), tag="{*}Product", schema=schema, resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False)
    try:
        for _event, element in parser:
            clear_seen(element)
    except etree.XMLSyntaxError as exc:
        errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
        return _problems(errors) or [Problem(f"line {exc.lineno}", f"スキーマに合いません: {exc.msg}", f"Not valid against the schema: {exc.msg}", fatal=True)]
    return []


def _validate_with_namespace(stream: BinaryIO, schema: etree.XMLSchema, release: str, short: bool) -> list[Problem]:
    data = stream.read(MAX_IN_MEMORY + 1)
    if len(data) > MAX_IN_MEMORY:
        return [Problem("file", "名前空間のない大きなONIXファイルは検証できません。名前空間付きで提供を受けてください。",
                        "A large ONIX file without a namespace cannot be validated; ask for one with the ONIX namespace.", fatal=True)]
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as exc:
        return [_malformed(exc)]
    namespace = f"http://ns.editeur.org/onix/{release}/{'short' if short else 'reference'}"
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace is None:
            element.tag = f"{{{namespace}}}{element.tag}"
    if schema.validate(root):
        return []
    return _problems(schema.error_log)


_ENTITIES_REFUSED = Problem("file", "エンティティ宣言（DTD）を含むファイルは安全のため読み込みません。",
                            "The file declares XML entities (DTD); refused for safety.", fatal=True)


def _malformed(exc: etree.XMLSyntaxError) -> Problem:
    if is_entity_attack(exc):
        return _ENTITIES_REFUSED
    return Problem(f"line {exc.lineno}", f"XMLの形式が正しくありません（{exc.lineno}行目）。",
                   f"The XML is malformed at line {exc.lineno} ({exc.msg}).", fatal=True)


def _problems(error_log) -> list[Problem]:
    problems = []
    for error in list(error_log)[:MAX_PROBLEMS]:
        message = error.message.replace("{http://ns.editeur.org/onix/3.0/reference}", "").replace("{http://ns.editeur.org/onix/3.1/reference}", "")
        problems.append(Problem(f"line {error.line}", f"スキーマに合いません: {message}", f"Not valid against the schema: {message}", fatal=True))
    return problems
