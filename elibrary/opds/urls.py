"""Absolute URLs of the OPDS resources, built by string formatting (a page has hundreds of links)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import request


@dataclass(frozen=True)
class Urls:
    """URL builder for one request and one OPDS version."""

    base: str  # scheme, host and script root, no trailing slash
    version: int

    @classmethod
    def for_request(cls, version: int) -> "Urls":
        """Built from the request (``ProxyFix`` makes the scheme right behind a TLS proxy)."""
        return cls(request.host_url.rstrip("/") + request.script_root, version)

    @property
    def root(self) -> str:
        return f"{self.base}/opds/v{self.version}/"

    def feed(self, path: str, params: dict[str, str] | None = None) -> str:
        """A feed of this version, e.g. ``feed("ndc/9", {"page": "2"})``."""
        url = f"{self.base}/opds/v{self.version}/{quote(path)}"
        return f"{url}?{urlencode(params)}" if params else url

    def title(self, title_id: int) -> str:
        """The complete entry (OPDS 1) or publication (OPDS 2) of a title."""
        return f"{self.base}/opds/v{self.version}/titles/{title_id}"

    def borrow(self, title_id: int) -> str:
        return f"{self.title(title_id)}/borrow"

    def revoke(self, title_id: int) -> str:
        return f"{self.title(title_id)}/revoke"

    def fulfil(self, title_id: int) -> str:
        """The book file itself, for open titles and the patron's loans (HTTP Basic accepted)."""
        return f"{self.base}/opds/titles/{title_id}/file"

    def reader(self, title_id: int) -> str:
        """The browser reader (``readers`` owns ``/read/<id>``), for loans that may not be downloaded."""
        return f"{self.base}/read/{title_id}"

    def web_page(self, title_id: int) -> str:
        """The title's page on the website (the OPAC owns ``/titles/<id>``), where a loan is read in the browser."""
        return f"{self.base}/titles/{title_id}"

    def cover(self, title_id: int, size: str, version: str) -> str:
        """The OPAC's cover images (``catalog.cover_views`` owns ``/covers/<id>/<size>?v=``)."""
        return f"{self.base}/covers/{title_id}/{size}?v={version}"

    def auth_document(self) -> str:
        return f"{self.base}/opds/auth"

    def shelf(self) -> str:
        return f"{self.base}/opds/v{self.version}/shelf"

    def opensearch(self) -> str:
        return f"{self.base}/opds/v1/opensearch.xml"

    def search_template(self) -> str:
        if self.version == 1:
            return f"{self.base}/opds/v1/search?q={{searchTerms}}"
        return f"{self.base}/opds/v2/search{{?query}}"
