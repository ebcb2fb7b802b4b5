"""Catalog import: ONIX 3, MARC21/MARCXML, EPUB and CSV/TSV into the catalog.

Parsers are pure (bytes in, ``ImportRecord``/``Problem``/``KnownRecord`` out, no database): ``onix``
(with ``onix_tree``), ``marc``, ``epub``, ``tabular``; ``ahead`` runs one in a second process for a
large file. ``apply.Importer`` is the one step that writes them, in batches, each record
all-or-nothing (new titles through ``bulk``). ``runner`` drives an import; ``cli`` and ``views`` are the
command and the admin upload page.
"""
