"""ILS connectors, chosen by ``ELIBRARY_ILS``.

``local`` is the patrons' own account store (``elibrary.patrons.accounts.LocalAccounts``): it needs the
runtime's database and cipher, so the wiring room (``elibrary.wiring``) builds it instead of ``load_backend``.
"""

BACKENDS = {
    "local": "elibrary.patrons.accounts:LocalAccounts",  # built by elibrary.wiring, not from the settings alone
    "fake": "elibrary.ils.fake:FakeILS",
    "sip2": "elibrary.ils.sip2.connector:SIP2Connector",
    "http": "elibrary.ils.http:HTTPConnector",
}
