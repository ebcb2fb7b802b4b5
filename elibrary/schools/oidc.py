"""The OpenID Connect wire client of school sign-in (学校アカウントでのログイン): discovery, the authorisation
request with PKCE, state and nonce, the code exchange, and the ID token check.

Built on authlib's OAuth 2 pieces (tokens, PKCE challenge, authorisation URL) and joserfc (the JOSE
library authlib now delegates to) for the ID token: signature by the provider's JWKS (fetched again once
when a key id is unknown, for key rotation), ``iss``, ``aud`` (and ``azp``), ``exp``, ``iat`` and
``nonce``. The HTTP client is injected (a factory of ``httpx.Client``: one short-lived client per call, as
sign-ins are few and no connection is kept open), so tests use a real provider on loopback.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# Asymmetric algorithms only: "none" and HMAC (keyed by the client secret) are never accepted for ID tokens.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 60
METADATA_SECONDS = 3600


class OidcFailure(Exception):
    """What went wrong talking to the provider or checking its answer (``reason``: a short code for the log)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the secrets to keep until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass
class OidcClient:
    """Talks to OpenID Providers through clients from ``http``; caches discovery documents and key sets for an hour."""

    http: Callable[[], httpx.Client]
    clock: Any = time.time
    _metadata: dict[str, tuple[float, dict]] = field(default_factory=dict)
    _keys: dict[str, tuple[float, KeySet]] = field(default_factory=dict)

    def metadata(self, issuer: str) -> dict:
        """The provider's discovery document (``/.well-known/openid-configuration``), checked against ``issuer``."""
        cached = self._metadata.get(issuer)
        if cached and cached[0] > self.clock():
            return cached[1]
        check_issuer_url(issuer)
        document = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if document.get("issuer") != issuer:
            raise OidcFailure("issuer-mismatch", f"discovery says {document.get('issuer')!r}")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str):
                raise OidcFailure("bad-discovery", f"no {name}")
        self._metadata[issuer] = (self.clock() + METADATA_SECONDS, document)
        return document

    def authorization_request(self, issuer: str, client_id: str, redirect_uri: str, *, scope: str = "openid email profile",
                              extra: dict[str, str] | None = None) -> AuthorizationRequest:
        """A fresh authorisation request: state, nonce and a PKCE (S256) verifier of its own."""
        metadata = self.metadata(issuer)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url = prepare_grant_uri(metadata["authorization_endpoint"], client_id, "code", redirect_uri=redirect_uri, scope=scope, state=state,
                                nonce=nonce, code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256", **(extra or {}))
        return AuthorizationRequest(url, state, nonce, verifier)

    def exchange_code(self, issuer: str, client_id: str, client_secret: str, code: str, code_verifier: str, redirect_uri: str) -> dict:
        """The token endpoint's answer for an authorisation code (client_secret_basic, or _post if that is all it takes)."""
        metadata = self.metadata(issuer)
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier}
        auth = None
        if "client_secret_basic" in methods:
            auth = httpx.BasicAuth(_form_quote(client_id), _form_quote(client_secret))
        else:
            data.update(client_id=client_id, client_secret=client_secret)
        try:
            with self.http() as http:
                response = http.post(metadata["token_endpoint"], data=data, auth=auth, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcFailure("provider-unreachable", type(exc).__name__) from None
        body = _json_of(response)
        if response.status_code != 200 or not isinstance(body.get("id_token"), str):
            raise OidcFailure("token-refused", str(body.get("error") or response.status_code))
        return body

    def validate_id_token(self, issuer: str, client_id: str, id_token: str, nonce: str) -> dict:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce are checked."""
        metadata = self.metadata(issuer)
        allowed = [a for a in metadata.get("id_token_signing_alg_values_supported") or ["RS256"] if a in ALGORITHMS]
        try:
            token = self._decode(metadata["jwks_uri"], id_token, allowed)
        except JoseError as exc:
            raise OidcFailure("bad-signature", type(exc).__name__) from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(now=int(self.clock()), leeway=LEEWAY_SECONDS, iss={"essential": True, "value": issuer},
                                         sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                                         nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcFailure(_claim_failure(exc), type(exc).__name__) from None
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
            raise OidcFailure("wrong-audience")
        return claims

    def _decode(self, jwks_uri: str, id_token: str, algorithms: list[str]):
        keys = self._key_set(jwks_uri, refresh=False)
        try:
            return jwt.decode(id_token, keys, algorithms=algorithms)
        except JoseError:
            keys = self._key_set(jwks_uri, refresh=True)  # the provider may have rotated its keys
            return jwt.decode(id_token, keys, algorithms=algorithms)

    def _key_set(self, jwks_uri: str, *, refresh: bool) -> KeySet:
        cached = self._keys.get(jwks_uri)
        if cached and cached[0] > self.clock() and not refresh:
            return cached[1]
        try:
            keys = KeySet.import_key_set(self._get_json(jwks_uri))
        except (ValueError, JoseError) as exc:
            raise OidcFailure("bad-jwks", type(exc).__name__) from None
        self._keys[jwks_uri] = (self.clock() + METADATA_SECONDS, keys)
        return keys

    def _get_json(self, url: str) -> dict:
        try:
            with self.http() as http:
                response = http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcFailure("provider-unreachable", type(exc).__name__) from None
        if response.status_code != 200:
            raise OidcFailure("provider-error", f"HTTP {response.status_code} from {url}")
        return _json_of(response)


def school_oidc_client(settings: Mapping[str, Any]) -> OidcClient:
    """The runtime's client (``ELIBRARY_OIDC_TIMEOUT`` seconds per call)."""
    timeout = float(settings.get("ELIBRARY_OIDC_TIMEOUT") or 10)
    return OidcClient(lambda: httpx.Client(timeout=timeout, follow_redirects=False))


def check_issuer_url(issuer: str) -> None:
    """An issuer is an https URL (http only on loopback, for development and tests)."""
    parts = urlsplit(issuer or "")
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or (parts.scheme != "https" and not (parts.scheme == "http" and loopback)):
        raise OidcFailure("bad-issuer", "the issuer must be an https URL")


def _claim_failure(exc: JoseError) -> str:
    from joserfc.errors import ExpiredTokenError

    if isinstance(exc, ExpiredTokenError):
        return "expired"
    text = str(exc)
    for claim, reason in (("nonce", "bad-nonce"), ("iss", "wrong-issuer"), ("iat", "bad-claims")):
        if f"'{claim}'" in text:
            return reason
    return "bad-claims"


def _json_of(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _form_quote(value: str) -> str:
    # RFC 6749 2.3.1: the client id and secret are form-urlencoded before Basic encoding.
    from urllib.parse import quote_plus

    return quote_plus(value or "")
