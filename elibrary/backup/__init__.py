"""Backup and restore of a whole installation (``elibrary backup``)."""
