"""Encryption of personal data at rest, keyed hashes for lookups, and PIN/password hashing."""
