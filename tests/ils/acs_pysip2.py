"""An independent SIP2 ACS for the tests: PyPI ``pysip2`` (its own codec and AnyIO server).

Run as a subprocess: ``python acs_pysip2.py --encoding cp932 [--login-required]``; prints the port
on stdout, then serves until killed. Patrons are fixed below (card -> details).
"""
from __future__ import annotations

import argparse
import sys

import anyio
from pysip2 import (
    END_PATRON_SESSION,
    LOGIN,
    PATRON_INFORMATION,
    PATRON_STATUS,
    EndSessionResponse,
    LoginResponse,
    PatronInformationResponse,
    PatronStatusResponse,
    SIP2Server,
)

PATRONS = {
    # card: (pin, name, status block, fee amount, fee limit)
    "20240001": ("2468", "山田 花子", " " * 14, "0", "1000"),
    "20240002": ("1357", "佐藤 太郎", "Y" + " " * 13, "0", "1000"),  # charge privileges denied
    "20240003": ("9999", "鈴木 一郎", " " * 14, "1500", "1000"),  # fines over the limit
}
SIP_USER, SIP_PASSWORD = "elibrary", "sip-secret"


def build(args) -> SIP2Server:
    app = SIP2Server(
        encoding=args.encoding,
        institution_id="KOBE",
        login_required=args.login_required,
        error_detection="auto",
    )

    @app.route(LOGIN)
    def login(req, ctx):
        return LoginResponse(ok="1" if (req.login_user_id, req.login_password) == (SIP_USER, SIP_PASSWORD) else "0")

    def lookup(req):
        entry = PATRONS.get(req.patron_identifier)
        valid = "Y" if entry else "N"
        pin_ok = None if entry is None else ("Y" if req.patron_password == entry[0] else "N")
        return entry, valid, pin_ok

    @app.route(PATRON_INFORMATION)
    def patron_information(req, ctx):
        entry, valid, pin_ok = lookup(req)
        return PatronInformationResponse(
            patron_status=entry[2] if entry else "Y" * 4 + " " * 10,
            language=req.language,
            transaction_date=ctx.now_18(),
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count="0000",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            personal_name=entry[1] if entry else "",
            valid_patron=valid,
            valid_patron_password=pin_ok,
            currency_type="JPY",
            fee_amount=entry[3] if entry else None,
            fee_limit=entry[4] if entry else None,
            screen_message=("ようこそ",) if pin_ok == "Y" else (),
        )

    @app.route(PATRON_STATUS)
    def patron_status(req, ctx):
        entry, valid, pin_ok = lookup(req)
        return PatronStatusResponse(
            patron_status=entry[2] if entry else "Y" * 4 + " " * 10,
            language=req.language,
            transaction_date=ctx.now_18(),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            personal_name=entry[1] if entry else "",
            valid_patron=valid,
            valid_patron_password=pin_ok,
        )

    @app.route(END_PATRON_SESSION)
    def end_session(req, ctx):
        return EndSessionResponse(end_session="Y", transaction_date=ctx.now_18(), institution_id=req.institution_id, patron_identifier=req.patron_identifier)

    return app


async def main(args) -> None:
    app = build(args)
    async with app.start() as port:
        print(port, flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--login-required", action="store_true")
    try:
        anyio.run(main, parser.parse_args())
    except KeyboardInterrupt:
        sys.exit(0)
