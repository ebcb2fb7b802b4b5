"""ILS connectors, chosen by ``ELIBRARY_ILS``."""

BACKENDS = {
    "local": "elibrary.ils.local:LocalILS",
    "fake": "elibrary.ils.fake:FakeILS",
    "sip2": "elibrary.ils.sip2.connector:SIP2Connector",
    "http": "elibrary.ils.http:HTTPConnector",
}
