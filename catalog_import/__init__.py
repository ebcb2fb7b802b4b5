"""Catalog import: ONIX 3, MARC21/MARCXML, EPUB and CSV/TSV into the catalog.

Parsers are pure (bytes in, ``ImportRecord``/``Problem`` out, no database): ``onix``, ``marc``,
``epub``, ``tabular``. ``apply.apply_records`` is the one step that writes them, record by record,
each all-or-nothing. ``cli`` and ``views`` are the command and the admin upload page.
"""
