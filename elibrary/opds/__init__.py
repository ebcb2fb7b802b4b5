"""OPDS 1.2 and 2.0 catalogs with lending, and Authentication for OPDS (issue #5)."""
