"""Planned stops (メンテナンス): a flag every app server sees without the database, and the pages it shows."""
