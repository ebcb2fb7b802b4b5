"""School sign-in with OpenID Connect (学校アカウントでのログイン): per-school providers, membership rules, linking.

- ``begin`` sends the browser to the school's provider with state, nonce and PKCE; the pending sign-in
  is a row used once (``OidcPending``), so a replayed answer is refused.
- ``complete`` checks the answer (``oidc.OidcClient``: code exchange, ID token), then who the account
  is: an account of a domain or tenant the school has not listed is refused, never made a patron. A
  subject linked before signs in at once; otherwise the first sign-in links it to the roster account by
  the roster's e-mail address, or asks for the card's one-time link code (``link_with_code``).

Plain functions taking a ``Session``; the caller commits.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from elibrary.db import Database, utcnow
from elibrary.errors import DomainError, NotFound
from elibrary.patrons.models import Patron
from elibrary.schools.models import Member, School
from elibrary.schools.oidc import OidcClient, OidcFailure
from elibrary.schools.signin_models import OidcLink, OidcPending, OidcProvider, SignInCard
from elibrary.schools.signin_tokens import link_code_hash, may_sign_in
from elibrary.security.crypto import DataCipher
from elibrary.security.throttle import Throttle

log = logging.getLogger(__name__)
PENDING_MINUTES = 10


class SsoRefused(DomainError):
    """A school sign-in that cannot be accepted."""

    code = "school-sso-refused"
    status = 401
    message_ja = "学校のアカウントでログインできませんでした。もう一度はじめからログインしてください。"
    message_en = "Could not sign in with the school account. Please start again."


class SsoNotConfigured(NotFound):
    """The school has no school sign-in (or it is switched off)."""

    code = "school-sso-off"
    message_ja = "この学校は、学校のアカウントでのログインを使っていません。"
    message_en = "This school does not use school-account sign-in."


class ReplayedState(SsoRefused):
    """The answer's state is unknown, used already, expired or not this browser's."""

    code = "school-sso-state"
    message_ja = "このログインの手続きは、使用済みか期限切れです。もう一度はじめからログインしてください。"
    message_en = "This sign-in has already been used or has expired. Please start again."


class BadIdToken(SsoRefused):
    """The provider's ID token failed a check (signature, issuer, audience, expiry, nonce)."""

    code = "school-sso-token"
    message_ja = ("学校のアカウントの確認に失敗しました（IDトークンが正しくありません）。"
                  "もう一度ログインしてください。続くときは学校の情報担当にお知らせください。")
    message_en = ("The school account could not be verified (the ID token is not valid). "
                  "Please try again; if it goes on, tell the school's IT staff.")


class ProviderDown(SsoRefused):
    """The provider could not be reached or refused the code."""

    code = "school-sso-provider"
    status = 503
    message_ja = "学校のアカウントのサービスに接続できませんでした。しばらくしてからお試しください。"
    message_en = "Could not reach the school account service. Please try again later."


class UnlistedAccount(SsoRefused):
    """An account of a domain or tenant the school has not listed: refused, never made a patron."""

    code = "school-sso-unlisted"
    status = 403
    message_ja = "このアカウントは、この学校のアカウントではありません。学校から配られたアカウントでログインしてください。"
    message_en = "This account does not belong to this school. Please sign in with the account your school gave you."


class WrongLinkCode(SsoRefused):
    """The link code typed is not a current card's code of this school."""

    code = "school-sso-link-code"
    message_ja = "つなぐためのコードが正しくありません。ログインカードに書かれたコードを入力してください。"
    message_en = "The link code is not correct. Please type the code printed on your sign-in card."


@dataclass(frozen=True)
class ProviderSettings:
    """A school's provider with the installation default filled in (the secret decrypted)."""

    school_code: str
    issuer: str
    client_id: str
    client_secret: str
    hosted_domains: tuple[str, ...]
    tenant_ids: tuple[str, ...]
    email_domains: tuple[str, ...]


@dataclass(frozen=True)
class SchoolChoice:
    """A school offered on the sign-in page."""

    code: str
    name: str


@dataclass(frozen=True)
class SsoOutcome:
    """What a provider's answer led to: a patron signed in, or a subject waiting for its link code."""

    patron: Patron | None
    subject_hash: str
    school_code: str


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip().lower().lstrip("@") for w in (text or "").replace(",", " ").split() if w.strip())


def provider_settings(session: Session, cipher: DataCipher, settings: Mapping[str, Any], school_code: str) -> ProviderSettings:
    """The school's enabled provider, with ``ELIBRARY_OIDC_*`` for what it leaves empty."""
    row = session.scalar(select(OidcProvider).where(OidcProvider.school_code == school_code))
    if row is None or not row.enabled:
        raise SsoNotConfigured()
    secret = cipher.decrypt(row.client_secret_enc, "school.oidc.secret") if row.client_secret_enc else None
    result = ProviderSettings(
        school_code=school_code,
        issuer=row.issuer or str(settings.get("ELIBRARY_OIDC_ISSUER") or ""),
        client_id=row.client_id or str(settings.get("ELIBRARY_OIDC_CLIENT_ID") or ""),
        client_secret=secret or str(settings.get("ELIBRARY_OIDC_CLIENT_SECRET") or ""),
        hosted_domains=_words(row.hosted_domains), tenant_ids=_words(row.tenant_ids), email_domains=_words(row.email_domains),
    )
    if not (result.issuer and result.client_id):
        raise SsoNotConfigured()
    return result


def save_provider(session: Session, cipher: DataCipher, school_code: str, *, enabled: bool, issuer: str, client_id: str,
                  client_secret: str | None, hosted_domains: str, tenant_ids: str, email_domains: str) -> OidcProvider:
    """Create or change a school's provider (admins); an empty ``client_secret`` keeps the stored one."""
    from elibrary.errors import InvalidInput
    from elibrary.schools.oidc import check_issuer_url

    if session.scalar(select(School).where(School.code == school_code)) is None:
        raise NotFound("その学校コードの学校はありません。", "No school has that code.")
    if issuer:
        try:
            check_issuer_url(issuer.strip())
        except OidcFailure:
            raise InvalidInput("発行者（issuer）は https:// で始まるURLにしてください。", "The issuer must be an https:// URL.", field="issuer") from None
    if enabled and not (_words(hosted_domains) or _words(tenant_ids) or _words(email_domains)):
        raise InvalidInput("この学校のアカウントを見分ける hd ドメイン、テナントID、メールのドメインのどれかを入れてください。",
                           "Enter at least one of the hd domains, tenant ids or e-mail domains that identify this school's accounts.",
                           field="email_domains")
    row = session.scalar(select(OidcProvider).where(OidcProvider.school_code == school_code))
    if row is None:
        row = OidcProvider(school_code=school_code)
        session.add(row)
    row.enabled, row.issuer, row.client_id = enabled, issuer.strip(), client_id.strip()
    row.hosted_domains, row.tenant_ids, row.email_domains = " ".join(_words(hosted_domains)), " ".join(_words(tenant_ids)), " ".join(_words(email_domains))
    if client_secret:
        row.client_secret_enc = cipher.encrypt(client_secret, "school.oidc.secret")
    session.flush()
    return row


def schools_with_sign_in(session: Session, settings: Mapping[str, Any]) -> list[SchoolChoice]:
    """The schools whose pupils may sign in with a school account, by name."""
    default_ready = bool(settings.get("ELIBRARY_OIDC_ISSUER") and settings.get("ELIBRARY_OIDC_CLIENT_ID"))
    rows = session.execute(select(OidcProvider, School.name).join(School, School.code == OidcProvider.school_code)
                           .where(OidcProvider.enabled.is_(True)).order_by(School.code)).all()
    return [SchoolChoice(row.school_code, name) for row, name in rows if default_ready or (row.issuer and row.client_id)]


def begin(session: Session, cipher: DataCipher, client: OidcClient, provider: ProviderSettings, redirect_uri: str) -> tuple[str, str]:
    """Start a sign-in: (the provider's URL to send the browser to, the state to keep in this browser's session)."""
    extra = {"hd": provider.hosted_domains[0]} if len(provider.hosted_domains) == 1 else {}
    try:
        request = client.authorization_request(provider.issuer, provider.client_id, redirect_uri, extra=extra)
    except OidcFailure as exc:
        log.warning("school sign-in: provider of %s: %s", provider.school_code, exc)
        raise ProviderDown() from None
    now = utcnow()
    session.execute(delete(OidcPending).where(OidcPending.expires_at <= now))
    session.add(OidcPending(state_hash=cipher.lookup_hash("oidc-state:" + request.state), school_code=provider.school_code, nonce=request.nonce,
                            code_verifier_enc=cipher.encrypt(request.code_verifier, "school.oidc.verifier"),
                            expires_at=now + timedelta(minutes=PENDING_MINUTES)))
    session.flush()
    return request.url, request.state


def complete(db: Database, session: Session, cipher: DataCipher, client: OidcClient, settings: Mapping[str, Any], *, state: str,
             browser_state: str | None, code: str, redirect_uri: str) -> SsoOutcome:
    """Check the provider's answer and find the school account (see the module docstring).

    The sign-in's pending row is taken (deleted: it works once, whatever happens next) in a short
    transaction of its own, committed before the provider is asked for the tokens; ``session`` (the
    request's) is first used after that answer. So no transaction holds a lock while the provider answers:
    on SQLite a class signing in at once would otherwise wait for each pupil's provider call in turn.
    """
    if not state or not browser_state or not hmac.compare_digest(state, browser_state):
        raise ReplayedState()
    with db.scope() as own:
        pending = own.scalar(select(OidcPending).where(OidcPending.state_hash == cipher.lookup_hash("oidc-state:" + state)).with_for_update())
        if pending is None or pending.expires_at <= utcnow():
            raise ReplayedState()
        own.delete(pending)
        verifier, nonce = cipher.decrypt(pending.code_verifier_enc, "school.oidc.verifier"), pending.nonce
        try:
            provider = provider_settings(own, cipher, settings, pending.school_code)
        except SsoNotConfigured:
            provider = None  # refused below, after the row is gone
    if provider is None:
        raise SsoNotConfigured()
    try:
        tokens = client.exchange_code(provider.issuer, provider.client_id, provider.client_secret, code, verifier, redirect_uri)
        claims = client.validate_id_token(provider.issuer, provider.client_id, tokens["id_token"], nonce)
    except OidcFailure as exc:
        log.warning("school sign-in refused for %s: %s", provider.school_code, exc.reason)
        raise (ProviderDown() if exc.reason in ("provider-unreachable", "provider-error", "token-refused") else BadIdToken()) from None
    if not belongs_to_school(provider, claims):
        log.info("school sign-in: an account outside %s's listed domains/tenants was refused", provider.school_code)
        raise UnlistedAccount()
    subject_hash = cipher.lookup_hash(f"oidc-subject:{provider.issuer} {claims['sub']}")
    link = session.scalar(select(OidcLink).where(OidcLink.subject_hash == subject_hash))
    if link is not None:
        patron = _usable_patron(session, link.patron_id)
        link.last_used_at = utcnow()
        return SsoOutcome(patron, subject_hash, provider.school_code)
    patron = _patron_by_roster_email(session, cipher, provider, claims)
    if patron is not None:
        session.add(OidcLink(subject_hash=subject_hash, patron_id=patron.id, school_code=provider.school_code, via="email", last_used_at=utcnow()))
        session.flush()
    return SsoOutcome(patron, subject_hash, provider.school_code)


def belongs_to_school(provider: ProviderSettings, claims: Mapping[str, Any]) -> bool:
    """Whether the ID token's account is one the school listed (Google ``hd``, Microsoft ``tid`` or e-mail domain)."""
    hd = str(claims.get("hd") or "").lower()
    tid = str(claims.get("tid") or "").lower()
    if hd and hd in provider.hosted_domains:
        return True
    if tid and tid in provider.tenant_ids:
        return True
    email = str(claims.get("email") or "").lower()
    verified = claims.get("email_verified") in (True, "true")
    return bool(verified and "@" in email and email.rpartition("@")[2] in provider.email_domains)


def link_with_code(session: Session, cipher: DataCipher, throttle: Throttle | None, *, subject_hash: str, school_code: str, code: str,
                   address: str | None) -> Patron:
    """Link a verified subject waiting for its code to the card's account (the code works once) and return the patron."""
    keys = throttle.keys(cipher, "link-code", subject_hash, address) if throttle else None
    if throttle:
        throttle.check(keys)
    card = session.scalar(select(SignInCard).where(SignInCard.link_code_hash == link_code_hash(code)))
    member = session.scalar(select(Member).where(Member.patron_id == card.patron_id)) if card is not None else None
    school = session.get(School, member.school_id) if member is not None and member.school_id else None
    if card is None or school is None or school.code != school_code:
        if throttle:
            throttle.record_failure(keys, caller=session)
        raise WrongLinkCode()
    patron = _usable_patron(session, card.patron_id)
    if session.scalar(select(OidcLink).where(OidcLink.subject_hash == subject_hash)) is None:
        session.add(OidcLink(subject_hash=subject_hash, patron_id=patron.id, school_code=school_code, via="link-code", last_used_at=utcnow()))
    card.link_code_hash = None
    if throttle:
        throttle.record_success(keys, caller=session)
    session.flush()
    return patron


def _usable_patron(session: Session, patron_id: int) -> Patron:
    patron = session.get(Patron, patron_id)
    if patron is None or not may_sign_in(session, patron):
        raise SsoRefused("このアカウントは使えなくなっています。先生に聞いてください。", "This account can no longer be used. Please ask your teacher.")
    return patron


def _patron_by_roster_email(session: Session, cipher: DataCipher, provider: ProviderSettings, claims: Mapping[str, Any]) -> Patron | None:
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") not in (True, "true"):
        return None
    rows = session.execute(select(Patron, School.code).join(Member, Member.patron_id == Patron.id).join(School, School.id == Member.school_id)
                           .where(Patron.email_hash == cipher.lookup_hash("email:" + email), Patron.source == "school")).all()
    matches = [patron for patron, code in rows if code == provider.school_code and may_sign_in(session, patron)]
    return matches[0] if len(matches) == 1 else None
