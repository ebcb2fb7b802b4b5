"""What differs between ILS vendors' SIP2 services, kept as data (one frozen dataclass per dialect).

Choose one with ``ELIBRARY_SIP2_DIALECT``; ``ELIBRARY_SIP2_ENCODING`` overrides the character set
(Japanese ILSs commonly use Shift_JIS, i.e. ``cp932``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# Positions of the 14-character patron status block (Y = condition applies).
PATRON_STATUS_FLAGS = (
    ("charge-denied", "貸出停止中です", "Borrowing privileges are suspended"),
    ("renewal-denied", "延長停止中です", "Renewal privileges are suspended"),
    ("recall-denied", "呼び戻し停止中です", "Recall privileges are suspended"),
    ("hold-denied", "予約停止中です", "Hold privileges are suspended"),
    ("card-lost", "利用カードが紛失届出中です", "The card has been reported lost"),
    ("too-many-charged", "貸出冊数が上限に達しています", "Too many items borrowed"),
    ("too-many-overdue", "延滞中の資料があります", "Items are overdue"),
    ("too-many-renewals", "延長回数が上限に達しています", "Too many renewals"),
    ("too-many-claims", "返却済み申告が多すぎます", "Too many claims of items returned"),
    ("too-many-lost", "紛失資料があります", "Items are lost"),
    ("excessive-fines", "未納の延滞金があります", "Outstanding fines"),
    ("excessive-fees", "未納の料金があります", "Outstanding fees"),
    ("recall-overdue", "呼び戻し資料が延滞しています", "A recalled item is overdue"),
    ("too-many-billed", "請求中の資料が多すぎます", "Too many items billed"),
)


@dataclass(frozen=True)
class Dialect:
    """One ILS's SIP2 habits."""

    name: str
    login_required: bool = True  # send 93 on every new connection
    send_end_session: bool = True  # send 35 after the patron message (some ILSs break on it)
    use_patron_information: bool = True  # 63/64; False: 23/24 (patron status)
    error_detection: bool = True  # AY sequence number and AZ checksum on requests
    require_checksum: bool = False  # reject replies without AZ (True when the ACS always sends them)
    require_cq: bool = True  # a reply without CQ did not check the PIN: refuse rather than trust it
    encoding: str = "utf-8"
    field_separator: str = "|"
    timezone_field: str = "    "  # the 4 characters between date and time: blanks = local time
    language: str = "000"  # unknown / ACS default
    # Status-block positions (0-based, see PATRON_STATUS_FLAGS) that block borrowing.
    blocking_flags: tuple[int, ...] = (0, 4, 10, 11)
    block_on_fines: bool = True  # BV (fee amount) greater than CC (fee limit)
    expiry_fields: tuple[str, ...] = ("PA", "PX")  # Evergreen/SIPServer PA, Polaris PX: YYYYMMDD...
    category_field: str = "PC"  # patron class / type

    def with_settings(self, *, encoding: str | None = None, field_separator: str | None = None) -> "Dialect":
        """A copy with the operator's overrides."""
        changes = {}
        if encoding:
            changes["encoding"] = encoding
        if field_separator:
            changes["field_separator"] = field_separator
        return replace(self, **changes) if changes else self


DIALECTS: dict[str, Dialect] = {
    "generic": Dialect("generic"),
    "evergreen": Dialect("evergreen", timezone_field="    "),
    "polaris": Dialect("polaris"),
    # Auto-Graphics VERSO fails after an End Session message (Palace's experience).
    "verso": Dialect("verso", send_end_session=False),
    # Many Japanese ILS SIP2 gateways speak Shift_JIS and need no 93 login on a dedicated line.
    "japanese-sjis": Dialect("japanese-sjis", encoding="cp932", login_required=False),
}


def dialect_from_settings(name: str | None, encoding: str | None, separator: str | None) -> Dialect:
    """The named dialect with the settings' encoding and separator applied."""
    from elibrary.config import ConfigError

    try:
        base = DIALECTS[name or "generic"]
    except KeyError:
        raise ConfigError(f"unknown ELIBRARY_SIP2_DIALECT {name!r} (choose one of: {', '.join(sorted(DIALECTS))})") from None
    try:
        "".encode(encoding or base.encoding)
    except LookupError:
        raise ConfigError(f"unknown ELIBRARY_SIP2_ENCODING {encoding!r}") from None
    return base.with_settings(encoding=encoding, field_separator=separator)
