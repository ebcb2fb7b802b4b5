"""One ONIX ``<Product>`` as a small tree of plain objects named by reference tags, read in one pass.

lxml's ``find``/``findtext`` run its Python ElementPath code on every call, and renaming short tags in
place costs a tag write per element; a product is read with some forty lookups, so the mapping spent
more time finding elements than libxml2 spent parsing them. Here each element is visited once, its
children are grouped by reference name in a dict, and every lookup after that is a dict access.
The XHTML inside ``<Text>`` is not walked: ``xhtml_text`` reads it from the lxml element.
"""
from __future__ import annotations

from catalog_import import onix_codes as codes
from catalog_import.xmlsafe import local_name

_NAMES: dict[str, str] = {}  # lxml tag ("{ns}b203", "TitleText") → reference name
_LEAVES = frozenset({"Text"})  # XHTML content: kept as lxml


class ProductNode:
    """An element of a product: its reference name, text, children by name and the lxml element."""

    __slots__ = ("tag", "text", "element", "children")

    def __init__(self, tag: str, element) -> None:
        self.tag = tag
        self.text = element.text
        self.element = element
        self.children: dict[str, list[ProductNode]] = {}

    def find(self, path: str) -> ProductNode | None:
        """The first child named ``path`` (``A/B`` walks down), or ``None``."""
        node = self
        for name in path.split("/") if "/" in path else (path,):
            found = node.children.get(name)
            if not found:
                return None
            node = found[0]
        return node

    def findall(self, name: str) -> list[ProductNode]:
        """Every child named ``name``, in document order (a new list)."""
        return list(self.children.get(name, ()))

    def findtext(self, path: str) -> str | None:
        """The text of ``find(path)`` (``""`` when it has none), or ``None`` when there is no such child."""
        node = self.find(path)
        return None if node is None else (node.text or "")

    def get(self, name: str, default: str | None = None) -> str | None:
        """An attribute (``collationkey``, ``textformat``, ``dateformat`` ...)."""
        return self.element.get(name, default)


def product_tree(element) -> ProductNode:
    """The tree of ``element`` (a ``<Product>`` in reference or short tags, any ONIX 3 namespace)."""
    node = ProductNode(_name(element.tag), element)
    _add_children(node)
    return node


def _add_children(node: ProductNode) -> None:
    names = _NAMES
    children = node.children
    for child in node.element:
        tag = child.tag
        if not isinstance(tag, str):  # an unresolved entity reference: never expanded, never read
            continue
        name = names.get(tag) or _name(tag)
        sub = ProductNode(name, child)
        found = children.get(name)
        if found is None:
            children[name] = [sub]
        else:
            found.append(sub)
        if name not in _LEAVES and len(child):
            _add_children(sub)


def _name(tag: str) -> str:
    name = _NAMES.get(tag)
    if name is None:
        name = _NAMES[tag] = codes.canonical_tag(local_name(tag))
    return name
