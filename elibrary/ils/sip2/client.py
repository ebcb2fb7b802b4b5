"""The SIP2 wire: TCP (optionally TLS), CR framing, AY sequence numbers, AZ checksums, timeouts,
one reconnect, and a small thread-safe pool of logged-in connections.

Nothing here knows about patrons; ``connector.py`` builds and reads the messages.
"""
from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

from elibrary.ils.base import ILSUnavailable
from elibrary.ils.sip2.dialect import Dialect

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
TRAILER = re.compile(r"(?:AY(\d))?AZ([0-9A-Fa-f]{4})$")
T = TypeVar("T")


class SIP2Error(ILSUnavailable):
    """The ACS did not answer usably: timeout, closed connection, truncated or garbled reply."""


class ChecksumError(SIP2Error):
    """A reply's AZ checksum does not match its bytes."""


class LoginRefused(SIP2Error):
    """The ACS refused our 93 login (our SIP user or password is wrong: an operator problem)."""


def checksum(data: bytes) -> str:
    """AZ value: the two's complement of the 16-bit sum of every byte up to and including "AZ"."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def verify_checksum(frame: bytes) -> bool:
    """Whether a frame ending in ``AZxxxx`` (without CR) carries the right checksum."""
    return len(frame) >= 6 and frame[-6:-4] == b"AZ" and checksum(frame[:-4]) == frame[-4:].decode("ascii", "replace").upper()


def sip_datetime(dialect: Dialect, when: datetime | None = None) -> str:
    """The 18-character date field: YYYYMMDD, 4-character zone, HHMMSS."""
    when = when or datetime.now()
    return when.strftime("%Y%m%d") + dialect.timezone_field + when.strftime("%H%M%S")


def parse_fields(text: str, separator: str = "|") -> dict[str, list[str]]:
    """Variable fields ``XXvalue|`` into {code: [values...]} (repeatable codes keep every value)."""
    fields: dict[str, list[str]] = {}
    for part in text.split(separator):
        part = part.strip("\r\n")
        if len(part) >= 2:
            fields.setdefault(part[:2], []).append(part[2:])
    return fields


class Connection:
    """One TCP (or TLS) connection to the ACS, speaking one message at a time."""

    def __init__(self, host: str, port: int, dialect: Dialect, *, timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.dialect = dialect
        self.timeout = timeout
        self._sequence = 0
        self._buffer = b""
        try:
            raw = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise SIP2Error(f"cannot connect to the SIP2 server: {exc.__class__.__name__}") from None
        try:
            self._sock = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise SIP2Error(f"TLS handshake with the SIP2 server failed: {exc.__class__.__name__}") from None
        self._sock.settimeout(timeout)

    def exchange(self, body: str) -> str:
        """Send one message, return the reply's text (trailer checked and removed)."""
        frame = self._frame(body)
        try:
            self._sock.sendall(frame + b"\r")
            reply = self._read_frame()
            if reply[:2] == b"96":  # the ACS asks us to resend (it saw a bad checksum)
                self._sock.sendall(frame + b"\r")
                reply = self._read_frame()
        except socket.timeout:
            raise SIP2Error("the SIP2 server did not answer in time") from None
        except OSError as exc:
            raise SIP2Error(f"SIP2 connection failed: {exc.__class__.__name__}") from None
        return self._check(reply)

    def _frame(self, body: str) -> bytes:
        data = body.encode(self.dialect.encoding)
        if not self.dialect.error_detection:
            return data
        self._expected_sequence = str(self._sequence)
        data += f"AY{self._sequence}AZ".encode("ascii")
        self._sequence = (self._sequence + 1) % 10
        return data + checksum(data).encode("ascii")

    def _read_frame(self) -> bytes:
        while b"\r" not in self._buffer:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise SIP2Error("the SIP2 server closed the connection mid-reply (truncated message)")
            self._buffer += chunk
            if len(self._buffer) > MAX_FRAME_BYTES:
                raise SIP2Error("SIP2 reply too long")
        frame, _, self._buffer = self._buffer.partition(b"\r")
        self._buffer = self._buffer.lstrip(b"\n")  # some ACSs end lines with CRLF
        return frame.lstrip(b"\n")

    def _check(self, reply: bytes) -> str:
        try:
            text = reply.decode(self.dialect.encoding)
        except UnicodeDecodeError:
            raise SIP2Error(f"SIP2 reply is not valid {self.dialect.encoding}") from None
        trailer = TRAILER.search(text)
        if trailer is None:
            if self.dialect.require_checksum:
                raise ChecksumError("SIP2 reply has no checksum")
            return text
        if not verify_checksum(reply):
            raise ChecksumError("SIP2 reply checksum does not match")
        if trailer.group(1) is not None and self.dialect.error_detection and trailer.group(1) != self._expected_sequence:
            raise SIP2Error("SIP2 reply carries the wrong sequence number")
        return text[: trailer.start()]

    def close(self) -> None:
        """Close the socket (errors ignored: it may already be gone)."""
        with contextlib.suppress(OSError):
            self._sock.close()


class ConnectionPool:
    """At most ``size`` connections, reused while healthy; a broken one is closed, never returned."""

    def __init__(self, factory: Callable[[], Connection], size: int = 4, wait: float = 10.0) -> None:
        self._factory = factory
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._wait = wait

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """Borrow a connection; it goes back to the pool only if the block succeeded."""
        if not self._slots.acquire(timeout=self._wait):
            raise SIP2Error("all SIP2 connections are busy")
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._factory()
            try:
                yield conn
            except BaseException:
                conn.close()
                raise
            with self._lock:
                self._idle.append(conn)
        finally:
            self._slots.release()

    def discard_idle(self) -> None:
        """Close every idle connection (after a failure, the others are suspect too)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class SIP2Client:
    """Runs conversations with the ACS over pooled, logged-in connections, reconnecting once on failure."""

    def __init__(
        self,
        host: str,
        port: int,
        dialect: Dialect,
        *,
        user: str = "",
        password: str = "",
        location: str = "",
        timeout: float = 5.0,
        tls: bool = False,
        tls_ca_file: str | None = None,
        pool_size: int = 4,
    ) -> None:
        self.host, self.port, self.dialect = host, port, dialect
        self._user, self._password, self._location = user, password, location
        self.timeout = timeout
        self._tls = _tls_context(tls_ca_file) if tls else None
        self.pool = ConnectionPool(self._connect, size=pool_size, wait=timeout * 2)

    def _connect(self) -> Connection:
        conn = Connection(self.host, self.port, self.dialect, timeout=self.timeout, tls=self._tls)
        if self.dialect.login_required:
            sep = self.dialect.field_separator
            body = f"9300CN{self._user}{sep}CO{self._password}{sep}"
            if self._location:
                body += f"CP{self._location}{sep}"
            try:
                reply = conn.exchange(body)
            except BaseException:
                conn.close()
                raise
            if not reply.startswith("941"):
                conn.close()
                log.warning("the SIP2 server refused our login (check ELIBRARY_SIP2_USER and _PASSWORD)")
                raise LoginRefused("SIP2 login refused")
        return conn

    def close(self) -> None:
        """Close the pooled connections (at shutdown, and in tests)."""
        self.pool.discard_idle()

    def conversation(self, talk: Callable[[Connection], T]) -> T:
        """Run ``talk(connection)``; on a wire failure, retry once on a fresh connection."""
        try:
            with self.pool.connection() as conn:
                return talk(conn)
        except LoginRefused:
            raise
        except SIP2Error as first:
            log.info("SIP2 exchange failed (%s); reconnecting once", first)
            self.pool.discard_idle()
        with self.pool.connection() as conn:
            return talk(conn)


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
