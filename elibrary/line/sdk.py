"""LINE's LIFF SDK from npm (``@line/liff`` in ``readers/node_modules``, installed by ``make frontend``), served
as unbundled ES modules with an import map, like the readers' engines; ``@line/liff-mock`` for tests.

``@line/liff`` is split into ``@liff/*`` packages whose ES builds import each other, ``tslib`` and
``whatwg-fetch`` by bare name (the import map resolves them) and ``tiny-sha256``, which ships only as
UMD: it is served wrapped into a module (``tiny-sha256.mjs``).
"""
from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path


def _readers_folder() -> Path:
    # Found, not imported: elibrary never imports the readers package (docs/architecture.md).
    spec = importlib.util.find_spec("readers")
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else Path("readers")


NODE_MODULES = _readers_folder() / "node_modules"
SHA256_SHIM = "tiny-sha256.mjs"
MOCK = "@line/liff-mock/dist/umd/liff-mock.js"
FIXED = {"@line/liff": "@line/liff/index.mjs", "tslib": "tslib/tslib.es6.mjs", "whatwg-fetch": "whatwg-fetch/fetch.js"}


class SDKMissing(RuntimeError):
    """``readers/node_modules`` has no ``@line/liff`` (run ``make frontend``)."""


@lru_cache(maxsize=1)
def module_files() -> dict[str, str]:
    """Bare module name -> path under node_modules, for every module the SDK imports."""
    if not (NODE_MODULES / FIXED["@line/liff"]).is_file():
        raise SDKMissing("@line/liff is not installed in readers/node_modules (make frontend)")
    files = dict(FIXED)
    for package in sorted((NODE_MODULES / "@liff").iterdir()):
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
        if meta.get("module"):
            files[f"@liff/{package.name}"] = f"@liff/{package.name}/{meta['module'].lstrip('./')}"
    return files


def import_map(base_url: str) -> dict:
    """The import map for the LIFF page (``base_url`` ends with a slash)."""
    imports = {name: base_url + path for name, path in module_files().items()}
    imports["tiny-sha256"] = base_url + SHA256_SHIM
    return {"imports": imports}


def allowed(path: str) -> bool:
    """Only the SDK's modules and the mock are served, nothing else of node_modules."""
    return path == MOCK or path == SHA256_SHIM or path in set(module_files().values())


def read(path: str) -> bytes:
    """A served file's bytes (the SHA-256 shim is made from the package's UMD file)."""
    if path == SHA256_SHIM:
        umd = (NODE_MODULES / "tiny-sha256" / "index.js").read_text(encoding="utf-8")
        return ("const module = { exports: {} };\n" + umd + "\nexport default module.exports;\n").encode("utf-8")
    return (NODE_MODULES / path).read_bytes()
