"""Staff accounts: creation with a one-time password, and password sign-in."""
from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from elibrary.errors import Conflict, InvalidInput
from elibrary.security import sessions
from elibrary.staff.models import Role, StaffUser

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


class StaffSignInFailed(InvalidInput):
    """Wrong e-mail or password."""

    code = "staff-sign-in-failed"
    status = 401
    message_ja = "メールアドレスまたはパスワードが正しくありません。"
    message_en = "The e-mail address or password is incorrect."


def add_staff(session: Session, email: str, role: str, school_code: str | None = None) -> tuple[StaffUser, str]:
    """Create a staff account; returns it and a one-time password to hand over (changed at first sign-in)."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput("メールアドレスの形式が正しくありません。", "That is not a valid e-mail address.", field="email")
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput("役割は admin, librarian, teacher のいずれかです。", "Role must be admin, librarian or teacher.") from None
    if role_value is Role.teacher and not school_code:
        raise InvalidInput("教員アカウントには学校コードが必要です。", "A teacher account needs a school code (--school).")
    if session.scalar(select(StaffUser).where(StaffUser.email == email)):
        raise Conflict("このメールアドレスはすでに登録されています。", "A staff account with this e-mail exists.")
    password = secrets.token_urlsafe(12)
    user = StaffUser(email=email, password_hash=generate_password_hash(password), role=role_value, school_code=school_code)
    session.add(user)
    session.flush()
    return user, password


def authenticate_staff(session: Session, email: str, password: str) -> StaffUser:
    """The active staff account with this e-mail and password, else ``StaffSignInFailed``."""
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    stored = user.password_hash if user is not None else _DUMMY_HASH
    if not check_password_hash(stored, password) or user is None or not user.active:
        raise StaffSignInFailed()
    return user


def reset_credentials(session: Session, email: str) -> str:
    """Replace a staff member's password with a one-time one and forget their TOTP secret."""
    from elibrary.errors import NotFound

    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise NotFound("その職員アカウントはありません。", "No staff account has that e-mail address.")
    password = secrets.token_urlsafe(12)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True
    user.totp_secret_enc = None
    user.totp_last_step = None
    sessions.end_all(session, sessions.subject_of(user))  # whoever holds a session of the account is out
    session.flush()
    return password


def set_password(session: Session, user: StaffUser, new_password: str, keep: str | None = None) -> None:
    """Replace the password (at least 10 characters); every other sign-in of the account ends."""
    if len(new_password) < 10:
        raise InvalidInput("パスワードは10文字以上にしてください。", "Use at least 10 characters.", field="password")
    user.password_hash = generate_password_hash(new_password)
    user.must_change_password = False
    sessions.end_all(session, sessions.subject_of(user), keep=keep)


def disable_staff(session: Session, email: str) -> StaffUser:
    """End a staff account (退職・異動): it can no longer sign in, and its sessions end now."""
    from elibrary.errors import NotFound

    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise NotFound("その職員アカウントはありません。", "No staff account has that e-mail address.")
    user.active = False
    sessions.end_all(session, sessions.subject_of(user))
    session.flush()
    return user


class PasswordsDiffer(InvalidInput):
    """The new password and its confirmation differ."""

    code = "passwords-differ"
    message_ja = "確認用のパスワードが一致しません。"
    message_en = "The two passwords do not match."


def sign_in_password(session: Session, runtime, email: str, password: str, address: str | None) -> StaffUser:
    """Step one of staff sign-in, under the brute-force throttle shared by all workers."""
    throttle = runtime.throttle
    keys = throttle.keys(runtime.cipher, "staff", email.strip().lower(), address)
    throttle.check(keys)
    try:
        user = authenticate_staff(session, email, password)
    except StaffSignInFailed:
        throttle.record_failure(keys, caller=session)
        raise
    throttle.record_success(keys, caller=session, staff_id=user.id)
    return user


def check_second_factor(session: Session, runtime, user: StaffUser, code: str, address: str | None) -> None:
    """Step two: the TOTP code, counted by the same throttle as the password."""
    from elibrary.staff import totp

    throttle = runtime.throttle
    keys = throttle.keys(runtime.cipher, "staff", user.email, address)
    throttle.check(keys)
    try:
        totp.verify(user, runtime.cipher, code)
    except totp.WrongCode:
        throttle.record_failure(keys, caller=session, event="staff.totp.failure", staff_id=user.id)
        raise
    throttle.record_success(keys, caller=session, staff_id=user.id)
