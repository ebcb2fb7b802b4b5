"""A small SIP2 ACS in a thread for the paper-notice tests: patrons' hold and overdue item lists are mutable.

Plain sockets and its own checksum code (independent of the client under test). Answers 93 (login),
63 (Patron Information: ``AS`` hold items for summary position 0, ``AT`` overdue items for position 1)
and 35 (End Session), with the AY/AZ trailer.
"""
from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field


def _checksum(data: bytes) -> str:
    return "%04X" % ((0x10000 - (sum(data) & 0xFFFF)) & 0xFFFF)


@dataclass
class PaperACS:
    holds: dict[str, list[str]] = field(default_factory=dict)
    overdue: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0

    def start(self) -> int:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()
        return self._server.getsockname()[1]

    def close(self) -> None:
        self._stop = True
        self._server.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\r" in buffer:
                    line, _, buffer = buffer.partition(b"\r")
                    conn.sendall(self._answer(line.decode("utf-8")) + b"\r")

    def _answer(self, request: str) -> bytes:
        self.requests += 1
        command = request[:2]
        card = (re.search(r"\|AA([^|]*)\|", "|" + request) or re.search(r"AA([^|]*)\|", request)).group(1) if "AA" in request else ""
        if command == "93":
            reply = "941"
        elif command == "35":
            reply = f"36Y20261207    120000AO|AA{card}|"
        elif command == "63":
            summary = request[23:33]
            known = card in self.holds or card in self.overdue
            items = self.holds.get(card, []) if summary[:1] == "Y" else self.overdue.get(card, []) if summary[1:2] == "Y" else []
            code = "AS" if summary[:1] == "Y" else "AT"
            listed = "".join(f"{code}{item}|" for item in items)
            reply = (f"64              00020261207    120000{len(self.holds.get(card, [])):04d}{len(self.overdue.get(card, [])):04d}"
                     f"000000000000000000000000AO|AA{card}|AEテスト 利用者|BL{'Y' if known else 'N'}|{listed}")
        else:
            reply = "96"
        seq = re.search(r"AY(\d)AZ[0-9A-F]{4}$", request)
        body = reply.encode("utf-8") + (b"AY" + seq.group(1).encode() if seq else b"") + b"AZ"
        return body + _checksum(body).encode()
