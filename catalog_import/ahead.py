"""Parsing a large file in a second process, a few hundred records ahead of the apply step.

Reading a product (libxml2, then mapping it to an ``ImportRecord``) and applying it (validation and
INSERTs) take about the same time, and the machine has more than one core: with the parser in a
child process the two overlap, and a large import takes little more than the longer of the two.
Parsers are pure functions of a file, so the child needs nothing of the application: no database,
no settings, no storage, and it is a fresh interpreter (``python -c``), inheriting neither database
connections nor threads. Records come back pickled, in chunks, over the child's stdout; the pipe's
small buffer blocks the child when it is a chunk or two ahead, so memory stays flat.
"""
from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalog_import.records import ImportRecord, ParsedItem

PARSERS = {"onix": "catalog_import.onix:parse_onix"}  # name → "module:function(stream, *args)"
CHUNK = 250  # records per message
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class ParserProcessError(RuntimeError):
    """The parser process failed or died; the import stops as if the parser had raised."""


def parsed_ahead(parser: str, path: str, *args: Any) -> Iterator[ParsedItem]:
    """The items of ``PARSERS[parser](open(path, "rb"), *args)``, parsed in a child process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)}
    child = subprocess.Popen([sys.executable, "-c", "from catalog_import.ahead import main; main()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        pickle.dump((parser, path, args), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
        while True:
            try:
                message = pickle.load(child.stdout)
            except (EOFError, pickle.UnpicklingError):
                raise ParserProcessError(f"the parser process stopped (exit code {child.wait()})") from None
            if isinstance(message, list):
                yield from message
            elif message is None:
                return
            else:
                raise ParserProcessError(message)
    finally:
        if child.poll() is None:
            child.kill()  # the consumer stopped early (an error, or a fatal problem in the file)
        child.stdout.close()
        child.wait()


def main() -> None:
    """The child: read what to parse from stdin; write chunks, then ``None`` (done) or a string (what failed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills this process
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the pickle stream
    parser, path, args = pickle.load(sys.stdin.buffer)
    try:
        module, _, name = PARSERS[parser].partition(":")
        parse = getattr(importlib.import_module(module), name)
        with open(path, "rb") as stream:
            chunk: list[ParsedItem] = []
            for item in parse(stream, *args):
                if isinstance(item, ImportRecord):
                    item.fingerprint()  # computed here, on the other core; it travels in the record's cache
                chunk.append(item)
                if len(chunk) >= CHUNK:
                    pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
                    chunk = []
            pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(None, out)
    except Exception as exc:  # reported to the parent, which raises it
        pickle.dump(f"the parser process failed: {type(exc).__name__}: {exc}", out)
    out.flush()
