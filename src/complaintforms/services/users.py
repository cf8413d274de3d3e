"""Users, sign-in, sessions and API tokens of the web interface (DESIGN.md sections 9, 11).

Everything lives in the store (collections `users`, `sessions`, `tokens`), so that several
server processes, on one machine or several sharing one database, serve the same users and
sessions, and nothing a worker needs is kept in its own memory.

- Passwords: at least 8 characters, kept as argon2id hashes (argon2-cffi), never logged.
- Sessions: a random secret in an HttpOnly cookie; the store keeps its SHA-256 (the record's
  id), the user, when it began and ends (a working day: `SESSION_HOURS`), and the session's
  CSRF token. A session is never extended by use, so that reading a page writes nothing.
- Sign-in throttling: after `MAX_FAILURES` failed sign-ins of one user within
  `FAILURE_WINDOW`, that user is refused for `LOCK_TIME`, right password or not.
- API tokens (`user token`): shown once, kept as their SHA-256.
Every change is an audit event (`user.add`, `user.disable`, `user.login`, ...) without
passwords, hashes or secrets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from complaintforms.domain import model
from complaintforms.domain.roles import ROLES
from complaintforms.domain.timeutil import from_iso, iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import AuthError, NotFoundError, StateError, ValidationError
from complaintforms.i18n import N_
from complaintforms.workspace import Workspace

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a megabyte "password" is an attack
SESSION_HOURS = 12
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCK_TIME = dt.timedelta(minutes=15)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
TOKEN_PREFIX = "cf_"

# What a user record shows to anyone (no hash, no failure times).
PUBLIC_KEYS = ("name", "display_name", "role", "department", "active", "created_at", "created_by")


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, the library's recommended parameters


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def public(user: dict) -> dict:
    return {k: user.get(k) for k in PUBLIC_KEYS}


# -- validation ----------------------------------------------------------------------------
def user_name(value: Any) -> str:
    text = model.text(value, "name", required=True, limit=32)
    if not NAME_PATTERN.fullmatch(text):
        raise ValidationError(
            N_("{field}: {value} is not a user name (letters, digits, . _ -; up to 32)"),
            field="name",
            value=repr(text),
        )
    return text


def password(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(N_("{field}: required"), field="password")
    if len(value) < MIN_PASSWORD:
        raise ValidationError(
            N_("{field}: at least {count} characters"), field="password", count=MIN_PASSWORD
        )
    if len(value) > MAX_PASSWORD:
        raise ValidationError(
            N_("{field}: at most {count} characters"), field="password", count=MAX_PASSWORD
        )
    return value


def role(value: Any) -> str:
    text = model.text(value, "role", required=True, limit=32)
    if text not in ROLES:
        raise ValidationError(
            N_("{field}: {value} is not a role ({choices})"),
            field="role",
            value=repr(text),
            choices=", ".join(ROLES),
        )
    return text


def get_user(ws: Workspace, name: str) -> dict:
    try:
        return ws.store.get(name, "users")
    except NotFoundError:
        raise NotFoundError(N_("{field}: no user {value}"), field="name", value=name) from None


# -- managing users (the command line) -------------------------------------------------------
def add_user(
    ws: Workspace,
    name: Any,
    *,
    role_name: Any,
    password_text: Any,
    by: str,
    department: Any = None,
    display_name: Any = None,
) -> dict:
    """`user add`: a new user; a department user names its department."""
    by = model.text(by, "by", required=True, limit=model.MAX_NAME)
    name = user_name(name)
    chosen = role(role_name)
    if chosen == "department":
        if not department:
            raise ValidationError(N_("{field}: required for a department user"), field="department")
        dep = model.department_code(ws.config, department, "department")
    elif department:
        raise ValidationError(
            N_("{field}: only a department user belongs to a department"), field="department"
        )
    else:
        dep = None
    shown = model.text(display_name, "display_name", limit=model.MAX_NAME) or name
    hashed = _hasher().hash(password(password_text))
    at = iso(clock_now())
    user = {
        "name": name,
        "display_name": shown,
        "role": chosen,
        "department": dep,
        "active": True,
        "password": hashed,
        "failures": [],
        "locked_until": None,
        "created_at": at,
        "created_by": by,
    }
    with ws.store.transaction() as txn:
        if txn.exists(name, "users"):
            raise ValidationError(
                N_("{field}: user {value} already exists"), field="name", value=name
            )
        txn.insert(user, "users")
        txn.log("user.add", by, None, at=at, after=public(user))
    return public(user)


def list_users(ws: Workspace) -> list[dict]:
    return sorted((public(u) for u in ws.store.iter_records("users")), key=lambda u: u["name"])


def _change(ws: Workspace, name: str, action: str, by: str, change) -> dict:
    by = model.text(by, "by", required=True, limit=model.MAX_NAME)
    at = iso(clock_now())
    with ws.store.transaction() as txn:
        try:
            before = txn.get(name, "users")
        except NotFoundError:
            raise NotFoundError(N_("{field}: no user {value}"), field="name", value=name) from None
        after = change(dict(before))
        txn.replace(after, "users")
        txn.log(action, by, None, at=at, before=public(before), after=public(after))
    return public(after)


def set_active(ws: Workspace, name: str, active: bool, *, by: str) -> dict:
    """`user disable` / `user enable`. A disabled user's sessions and tokens stop working
    at their next request (each request reads the user)."""

    def change(user: dict) -> dict:
        if user["active"] == active:
            raise StateError(
                N_("user {name} is already enabled")
                if active
                else N_("user {name} is already disabled"),
                name=name,
            )
        return {**user, "active": active, "failures": [], "locked_until": None}

    return _change(ws, name, "user.enable" if active else "user.disable", by, change)


def set_password(ws: Workspace, name: str, password_text: Any, *, by: str) -> dict:
    """`user passwd`: a new password; lifts a sign-in lock."""
    hashed = _hasher().hash(password(password_text))
    return _change(
        ws,
        name,
        "user.passwd",
        by,
        lambda u: {**u, "password": hashed, "failures": [], "locked_until": None},
    )


def new_token(ws: Workspace, name: str, *, by: str) -> str:
    """`user token`: a new API token for the user, returned once (only its hash is kept)."""
    by = model.text(by, "by", required=True, limit=model.MAX_NAME)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    at = iso(clock_now())
    with ws.store.transaction() as txn:
        if not txn.exists(name, "users"):
            raise NotFoundError(N_("{field}: no user {value}"), field="name", value=name)
        txn.insert({"id": digest(secret), "user": name, "created_at": at}, "tokens")
        txn.log("user.token", by, None, at=at, after={"name": name})
    return secret


def token_user(ws: Workspace, secret: str) -> dict | None:
    """The active user of an API token, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    try:
        token = ws.store.get(digest(secret), "tokens")
        user = ws.store.get(token["user"], "users")
    except NotFoundError:
        return None
    return user if user.get("active") else None


# -- signing in ------------------------------------------------------------------------------
def _locked(user: dict, now: dt.datetime) -> bool:
    until = user.get("locked_until")
    return bool(until) and from_iso(until) > now


def authenticate(ws: Workspace, name: Any, password_text: Any) -> dict:
    """The user whose name and password these are; AuthError otherwise, with one message
    for an unknown user and a wrong password (a stranger learns nothing of who exists).
    A failure is counted on the user; the fifth within 15 minutes locks them out."""
    from argon2.exceptions import InvalidHashError, VerificationError

    now = clock_now()
    refused = AuthError(N_("wrong user name or password"), field="password")
    text = password_text if isinstance(password_text, str) else ""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(text) > MAX_PASSWORD:
        raise refused
    try:
        user = ws.store.get(name, "users")
    except NotFoundError:
        _hasher().hash(text or "x")  # about as long as a real check, so timing tells nothing
        raise refused from None
    if _locked(user, now):
        raise AuthError(
            N_("too many failed sign-ins: {name} may try again after {time}"),
            field="username",
            name=name,
            time=from_iso(user["locked_until"]).strftime("%H:%M"),
        )
    try:
        ok = bool(text) and _hasher().verify(user["password"], text)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _count_failure(ws, name, now)
        raise refused
    if not user.get("active"):
        raise AuthError(N_("user {name} is disabled"), field="username", name=name)
    return user


def _count_failure(ws: Workspace, name: str, now: dt.datetime) -> None:
    with ws.store.transaction() as txn:
        user = txn.get(name, "users")
        recent = [t for t in user.get("failures") or [] if from_iso(t) > now - FAILURE_WINDOW]
        recent.append(iso(now))
        changed = {**user, "failures": recent}
        if len(recent) >= MAX_FAILURES:
            changed.update(failures=[], locked_until=iso(now + LOCK_TIME))
            txn.log("user.locked", name, None, at=iso(now), after={"name": name})
        txn.replace(changed, "users")


def sign_in(ws: Workspace, name: Any, password_text: Any) -> tuple[str, dict, dict]:
    """Authenticate and open a session: (cookie secret, session, user). The secret is new
    at every sign-in (a session id fixed before sign-in is never reused)."""
    user = authenticate(ws, name, password_text)
    now = clock_now()
    secret = secrets.token_urlsafe(32)
    session = {
        "id": digest(secret),
        "user": user["name"],
        "created_at": iso(now),
        "expires_at": iso(now + dt.timedelta(hours=SESSION_HOURS)),
        "csrf": secrets.token_urlsafe(32),
        "ended_at": None,
    }
    with ws.store.transaction() as txn:
        txn.insert(session, "sessions")
        if user.get("failures"):
            txn.replace({**txn.get(user["name"], "users"), "failures": []}, "users")
        txn.log(
            "user.login",
            user["display_name"],
            None,
            at=session["created_at"],
            after={"name": user["name"]},
        )
    return secret, session, user


def session_user(ws: Workspace, secret: str | None) -> tuple[dict, dict] | None:
    """(session, user) of a session cookie that is current and whose user is active."""
    if not secret or len(secret) > 200:
        return None
    try:
        session = ws.store.get(digest(secret), "sessions")
        user = ws.store.get(session["user"], "users")
    except NotFoundError:
        return None
    if session.get("ended_at") or from_iso(session["expires_at"]) <= clock_now():
        return None
    if not user.get("active"):
        return None
    return session, user


def sign_out(ws: Workspace, secret: str | None) -> None:
    """End a session (the cookie no longer works anywhere)."""
    found = session_user(ws, secret)
    if found is None:
        return
    session, user = found
    at = iso(clock_now())
    with ws.store.transaction() as txn:
        txn.replace({**txn.get(session["id"], "sessions"), "ended_at": at}, "sessions")
        txn.log("user.logout", user["display_name"], None, at=at, after={"name": user["name"]})


__all__ = [
    "add_user",
    "authenticate",
    "get_user",
    "list_users",
    "new_token",
    "public",
    "session_user",
    "set_active",
    "set_password",
    "sign_in",
    "sign_out",
    "token_user",
]
