"""A minimal SIP2 ACS that answers with recorded replies (from ``sip2-examples.tsv``) or misbehaves.

Independent of the client under test: plain sockets, its own checksum code. Run as a subprocess:
``python acs_replay.py MODE [REPLY]``; prints the port, serves until killed. Each request line is
answered by command: 93 -> 941, 99 -> 98..., 35 -> 36..., 63/23 -> REPLY (a transcript line), with
an AY/AZ trailer added (sequence echoed) unless the transcript line has one. MODEs:
``replay`` (as recorded), ``bad-checksum`` (last checksum digit changed), ``truncated`` (half the
reply, then close), ``silent`` (never answers), ``garbage`` (bytes that are not a SIP2 reply).
"""
from __future__ import annotations

import re
import socket
import sys
import threading


def checksum(data: bytes) -> str:
    total = 0
    for byte in data:
        total = (total + byte) & 0xFFFF
    return "%04X" % ((0x10000 - total) & 0xFFFF)


def with_trailer(reply: str, request: str, encoding: str) -> bytes:
    if re.search(r"AZ[0-9A-F]{4}$", reply):
        return reply.encode(encoding)
    seq = re.search(r"AY(\d)AZ[0-9A-Fa-f]{4}$", request)
    body = reply.encode(encoding) + (b"AY" + seq.group(1).encode() if seq else b"") + b"AZ"
    return body + checksum(body).encode()


def serve(conn: socket.socket, mode: str, reply: str, encoding: str) -> None:
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
                request = line.decode(encoding, "replace")
                command = request[:2]
                if mode == "silent":
                    continue
                answers = {"93": "941", "99": "98YYYYNN60000320100510    1717202.00AOKOBE|BXYYYYYYYYYNYNNNYN|",
                           "35": "36Y20100507    161213AOKOBE|AA1|"}
                answer = answers.get(command, reply)
                data = with_trailer(answer, request, encoding)
                if command in ("63", "23"):
                    if mode == "bad-checksum":
                        data = data[:-1] + (b"0" if data[-1:] != b"0" else b"1")
                    elif mode == "truncated":
                        conn.sendall(data[: len(data) // 2])
                        return
                    elif mode == "garbage":
                        data = b"\xff\xfe\x00garbage"
                conn.sendall(data + b"\r")


def main() -> None:
    mode = sys.argv[1]
    reply = sys.argv[2] if len(sys.argv) > 2 else ""
    encoding = sys.argv[3] if len(sys.argv) > 3 else "utf-8"
    tls = None
    if len(sys.argv) > 5:  # CERTFILE KEYFILE: serve over TLS
        import ssl

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[4], sys.argv[5])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        if tls is not None:
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn, mode, reply, encoding), daemon=True).start()


if __name__ == "__main__":
    main()
