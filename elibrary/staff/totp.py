"""Second factor for admin and librarian accounts: TOTP (RFC 6238) with pyotp, enrolled by QR code."""
from __future__ import annotations

import time

import pyotp
import segno

from elibrary.errors import InvalidInput
from elibrary.security.crypto import DataCipher
from elibrary.staff.models import Role, StaffUser

ROLES_NEEDING_TOTP = frozenset({Role.admin, Role.librarian})
ISSUER = "elibrary"
CONTEXT = "staff.totp"


class WrongCode(InvalidInput):
    """The six-digit code does not match (or was already used)."""

    code = "totp-wrong"
    status = 401
    message_ja = "確認コードが正しくありません。"
    message_en = "The verification code is incorrect."


def needs_totp(user: StaffUser) -> bool:
    """Admins and librarians sign in with a second factor; teachers do not."""
    return user.role in ROLES_NEEDING_TOTP


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg_data_uri(uri: str) -> str:
    """The URI as an inline SVG QR code (no request leaves the browser with the secret)."""
    return segno.make(uri, error="m").svg_data_uri(scale=4)


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    for drift in (0, -1, 1):  # one step of clock skew either way
        at = now + drift * totp.interval
        if totp.verify(code, for_time=int(at)):
            return int(at) // totp.interval
    return None


def confirm_enrolment(user: StaffUser, cipher: DataCipher, secret: str, code: str, now: float | None = None) -> None:
    """Store ``secret`` once the user proves their app produces its codes."""
    step = _matching_step(secret, code, now)
    if step is None:
        raise WrongCode()
    user.totp_secret_enc = cipher.encrypt(secret, CONTEXT)
    user.totp_last_step = step


def verify(user: StaffUser, cipher: DataCipher, code: str, now: float | None = None) -> None:
    """Check a code against the enrolled secret; each code works once (no replay)."""
    secret = cipher.decrypt(user.totp_secret_enc, CONTEXT)
    step = _matching_step(secret, code, now) if secret else None
    if step is None or step <= (user.totp_last_step or 0):
        raise WrongCode()
    user.totp_last_step = step
