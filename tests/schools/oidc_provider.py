"""A real OpenID Provider on loopback for the school sign-in tests: npm ``oidc-provider`` (tests/oidc, installed
by ``make frontend``) run by node, and a small driver of its login and consent forms (what a pupil does)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
ACCOUNTS = {
    "hana": {"email": "hana@sakura.ed.example.jp", "email_verified": True, "hd": "sakura.ed.example.jp", "name": "さくら はな"},
    "ken": {"email": "ken@sakura.ed.example.jp", "email_verified": True, "hd": "sakura.ed.example.jp"},
    "outsider": {"email": "someone@gmail.example.com", "email_verified": True},
    "tenant": {"email": "ms@example.onmicrosoft.com", "email_verified": False, "tid": "9188040d-6c67-4c5b-b112-36a304b66dad"},
}
CLIENT_ID, CLIENT_SECRET = "elibrary", "elibrary-test-secret-0123456789"
OTHER_CLIENT_ID, OTHER_CLIENT_SECRET = "another-app", "another-app-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class OpenIDProvider:
    """A running provider: ``issuer`` is its URL."""

    issuer: str
    process: subprocess.Popen

    def sign_in(self, http: httpx.Client, authorization_url: str, login: str) -> str:
        """Go through the provider's login and consent forms as ``login``; returns the redirect back to the client."""
        url = authorization_url
        for _ in range(12):
            response = http.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                if not url.startswith(self.issuer):
                    return url
                continue
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert action, response.text[:500]
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
            data = {"prompt": prompt.group(1) if prompt else "login", "login": login, "password": "any"}
            posted = http.post(urljoin(url, action.group(1)), data=data)
            assert posted.status_code in (302, 303), posted.text[:500]
            url = urljoin(url, posted.headers["location"])
            if not url.startswith(self.issuer):
                return url
        raise AssertionError("the provider never sent the browser back")

    def id_token_for(self, client_id: str, client_secret: str, redirect_uri: str, login: str, *, nonce: str = "n-0123456789") -> str:
        """A real ID token the provider issues to ``client_id`` (the code flow with PKCE, driven here)."""
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        verifier = generate_token(48)
        query = {"client_id": client_id, "response_type": "code", "scope": "openid email profile", "redirect_uri": redirect_uri, "state": "s-1",
                 "nonce": nonce, "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
        with httpx.Client(follow_redirects=False) as http:
            back = self.sign_in(http, str(httpx.URL(self.issuer + "/auth", params=query)), login)
            code = parse_qs(urlsplit(back).query)["code"][0]
            tokens = http.post(self.issuer + "/token", auth=(client_id, client_secret),
                               data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier})
            assert tokens.status_code == 200, tokens.text
            return tokens.json()["id_token"]


def start_provider(redirect_uris: list[str], *, id_token_ttl: int = 3600) -> OpenIDProvider:
    """Start the provider with the elibrary client (and another app's) registered for ``redirect_uris``."""
    if shutil.which("node") is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("needs node and tests/oidc/node_modules (make frontend)")
    port = _free_port()
    clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris},
               {"client_id": OTHER_CLIENT_ID, "client_secret": OTHER_CLIENT_SECRET, "redirect_uris": redirect_uris}]
    env = {**os.environ, "PORT": str(port), "OIDC_CLIENTS": json.dumps(clients), "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
           "ID_TOKEN_TTL": str(id_token_ttl), "NODE_ENV": "test"}
    process = subprocess.Popen(["node", str(OIDC_DIR / "provider.mjs")], cwd=OIDC_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("oidc-provider did not start: " + process.stderr.read()[-2000:])
        try:
            if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                return OpenIDProvider(issuer, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("oidc-provider did not answer in 20 s")


def stop_provider(provider: OpenIDProvider) -> None:
    """Stop the provider's process (the one this test started)."""
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
    for stream in (provider.process.stdout, provider.process.stderr):
        stream.close()
