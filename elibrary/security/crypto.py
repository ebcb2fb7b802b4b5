"""AES-256-GCM for personal data at rest and HMAC-SHA256 for equality lookups (CRYPTREC-listed).

Ciphertexts carry a one-byte key version so ``ELIBRARY_DATA_KEY`` can be rotated: new values are
written under the current key; old ones stay readable while their key is listed in ``previous``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class DecryptionError(Exception):
    """A ciphertext could not be decrypted (wrong key, or tampered)."""


def _derive(secret: str, purpose: bytes) -> bytes:
    # Separate keys for encryption and hashing, both derived from the one configured secret.
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


class DataCipher:
    """Encrypts and decrypts personal data fields; computes lookup hashes."""

    def __init__(self, secret: str, version: int = 1, previous: dict[int, str] | None = None, lookup_secret: str | None = None) -> None:
        if not 0 < version < 256:
            raise ValueError("key version must be 1..255")
        self.version = version
        self._aead = {version: AESGCM(_derive(secret, b"elibrary-aes-256-gcm"))}
        for old_version, old_secret in (previous or {}).items():
            self._aead[old_version] = AESGCM(_derive(old_secret, b"elibrary-aes-256-gcm"))
        # Lookup hashes must survive key rotation (they are stored): their secret may be kept apart.
        self._hmac_key = _derive(lookup_secret or secret, b"elibrary-hmac-sha256")

    def encrypt(self, plaintext: str | None, context: str = "") -> bytes | None:
        """Encrypt text; ``context`` (e.g. "patron.name") is bound as associated data."""
        if plaintext is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self.version].encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return bytes([self.version]) + nonce + sealed

    def decrypt(self, blob: bytes | None, context: str = "") -> str | None:
        """Decrypt what ``encrypt`` made, under whichever known key version it names."""
        if blob is None:
            return None
        aead = self._aead.get(blob[0])
        if aead is None:
            raise DecryptionError(f"no key for version {blob[0]}")
        try:
            return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], context.encode()).decode("utf-8")
        except Exception as exc:  # InvalidTag and friends: never leak which
            raise DecryptionError("ciphertext could not be authenticated") from exc

    def needs_rotation(self, blob: bytes | None) -> bool:
        """Whether ``blob`` was written under an older key version."""
        return blob is not None and blob[0] != self.version

    def lookup_hash(self, value: str) -> str:
        """A keyed hash for equality lookups (card numbers, e-mail addresses), hex encoded."""
        return hmac.new(self._hmac_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def normalize_card_number(raw: str) -> str:
    """Card numbers as typed: full-width digits and spaces/hyphens are folded away (１２３ 4-5 → 12345)."""
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "-‐")


def b64(data: bytes) -> str:
    """URL-safe base64 without padding (for tokens)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


CIPHER_INFO_KEY = "elibrary.cipher"  # the wiring room shares each runtime's cipher with its sessions


def cipher_of(session) -> DataCipher | None:
    """The data cipher the wiring room shared with this session's database (None for a bare session)."""
    return session.info.get(CIPHER_INFO_KEY)
