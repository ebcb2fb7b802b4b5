"""Staff accounts (職員) with roles."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class Role(str, enum.Enum):
    """What a staff member may do."""

    admin = "admin"
    librarian = "librarian"
    teacher = "teacher"


class StaffUser(Base):
    """A member of staff who signs in with e-mail and password (and TOTP for admin/librarian)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="staff_role", native_enum=False, values_callable=lambda e: [m.value for m in e], length=20)
    )
    school_code: Mapped[str | None] = mapped_column(String(40))
    # A teacher's own patron account (category teacher): one sign-in, either way, carries both (web/auth.py).
    # Linked by the roster import (same e-mail, same school) or by an admin (``elibrary schools link-teacher``).
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), unique=True)
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # last accepted TOTP time step: a code works once
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    is_authenticated = True
    is_anonymous = False
    is_staff = True

    @property
    def is_active(self) -> bool:
        """Disabled accounts cannot sign in."""
        return self.active

    def get_id(self) -> str:
        """Session id for flask-login."""
        return f"s:{self.id}"
