"""The Flask application: sessions from the store, CSRF on every POST, the role checked on
the server, errors as pages in the user's language.

Views live in complaintforms.web.views.* (one blueprint each); this module wires them,
signs users in and out, and turns what a view raises into the page the user sees.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, make_response, redirect, render_template, request, url_for

from complaintforms import i18n
from complaintforms.domain import roles
from complaintforms.domain.enums import label as enum_label
from complaintforms.domain.paper import cn_date
from complaintforms.errors import (
    AuthError,
    ComplaintFormsError,
    ForbiddenError,
    NotFoundError,
)
from complaintforms.i18n import _
from complaintforms.storage.base import Store
from complaintforms.web import common

SESSION_COOKIE = "cf_session"
LOGIN_CSRF_COOKIE = "cf_login"
# A request body above this is refused before a view reads it (scans have their own,
# smaller per-file limits in the library).
MAX_UPLOAD = 64 * 1024 * 1024
# Endpoints open without a session.
OPEN_ENDPOINTS = {"login", "static", "healthz", "favicon"}

HERE = Path(__file__).resolve().parent


def create_app(root: Path | str, *, store: Store | None = None) -> Flask:
    """The web interface of the workspace at `root` (with `store`: an in-memory store, in
    tests)."""
    app = Flask(
        "complaintforms.web",
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
    )
    holder = common.WorkspaceHolder(Path(root), store)
    app.extensions["complaintforms"] = holder
    first = holder.get()
    i18n.choose(first.config.language)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        # Flask's own signed-cookie session is not used: sessions live in the store.
        SECRET_KEY=secrets.token_hex(32),
        TEMPLATES_AUTO_RELOAD=False,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False  # the keys in the order the command line's --json prints them
    app.jinja_env.globals.update(
        _=_,
        may=lambda ability: roles.may(g.user, ability) if g.get("user") else False,
        csrf_token=lambda: (g.get("session") or {}).get("csrf", ""),
        cn_date=cn_date,
        enum_label=lambda name, value: enum_label(name, value, common.ws().config) if value else "",
        org=lambda: common.ws().config,
        field_label=common.field_label,
        language=i18n.language,
        role_label=lambda role: roles.ROLE_LABELS.get(role, role),
    )
    app.before_request(_load_user)
    app.after_request(_headers)
    _register_errors(app)
    app.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "logout", logout, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", lambda: ("ok", 200, {"Content-Type": "text/plain"}))
    app.add_url_rule("/favicon.ico", "favicon", lambda: ("", 204))

    from complaintforms.web.views import VIEWS

    for module in VIEWS:
        app.register_blueprint(module.bp)
    return app


def is_api() -> bool:
    return request.path.startswith("/api/")


def _load_user():
    """Who is asking: a session cookie (pages) or a bearer token (the API). Pages without a
    session go to the sign-in page, the API answers 401; a POST of a page needs the
    session's CSRF token."""
    from complaintforms.services import users

    g.user = g.session = None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    ws = common.ws()
    if is_api():
        header = request.headers.get("Authorization", "")
        secret = header[7:].strip() if header[:7].lower() == "bearer " else ""
        found = users.token_user(ws, secret)
        if found is None:
            return jsonify(error=_("sign in required (a bearer token)")), 401
        g.user = found
        return None
    found_session = users.session_user(ws, request.cookies.get(SESSION_COOKIE))
    if found_session is None:
        if request.method == "GET":
            return redirect(url_for("login", next=request.full_path.rstrip("?")))
        return redirect(url_for("login"))
    g.session, g.user = found_session
    if request.method == "POST" and not common.csrf_ok():
        reason = _(
            "the form has expired (CSRF token missing or wrong); reload the page and try again"
        )
        if request.headers.get("Accept", "").startswith("application/json"):
            return jsonify(error=reason), 403
        return render_template("error.html", status=403, reason=reason), 403
    return None


def _headers(response):
    # Nothing of ours is framed by another site, and pages of cases are not cached.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _cookie_secure() -> bool:
    return request.is_secure


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no //host, no scheme) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("desk.desk")


def login():
    from complaintforms.services import users

    ws = common.ws()
    if request.method == "GET":
        # One token for every sign-in page of this browser: a second tab, or a stray
        # request redirected here, must not invalidate the form already shown.
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        response = make_response(
            render_template("login.html", login_csrf=token, next=request.args.get("next", ""))
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Lax", secure=_cookie_secure()
        )
        return response
    # Sign-in has no session yet: its CSRF token is a cookie matched by the form (double
    # submit), so that another site cannot sign a browser in as someone else.
    sent, expected = request.form.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        return render_template(
            "login.html",
            login_csrf=expected or "",
            next=request.form.get("next", ""),
            errors={"_": _("the form has expired; reload the page and sign in again")},
            values={"username": request.form.get("username", "")},
        ), 403
    try:
        secret, session, user = users.sign_in(
            ws, request.form.get("username", ""), request.form.get("password", "")
        )
    except AuthError as exc:
        return render_template(
            "login.html",
            login_csrf=expected,
            next=request.form.get("next", ""),
            errors=common.errors_of(exc),
            values={"username": request.form.get("username", "")},
        ), 422
    response = redirect(_safe_next(request.form.get("next")), 303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="Lax",
        secure=_cookie_secure(),
        max_age=users.SESSION_HOURS * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def logout():
    from complaintforms.services import users

    users.sign_out(common.ws(), request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for("login"), 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _register_errors(app: Flask) -> None:
    def page(status: int, reason: str):
        if is_api():
            return jsonify(error=reason), status
        return render_template("error.html", status=status, reason=reason), status

    @app.errorhandler(404)
    def not_found(_exc: Any):
        return page(404, _("no such page or case"))

    @app.errorhandler(403)
    def forbidden(_exc: Any):
        return page(403, _("your role may not do this"))

    @app.errorhandler(405)
    def not_allowed(_exc: Any):
        return page(405, _("this page does not take that request"))

    @app.errorhandler(413)
    def too_large(_exc: Any):
        return page(413, _("the upload is too large"))

    @app.errorhandler(ForbiddenError)
    def refused_role(exc: ForbiddenError):
        return page(403, common.message(exc))

    @app.errorhandler(NotFoundError)
    def missing(exc: NotFoundError):
        return page(404, common.message(exc))

    @app.errorhandler(ComplaintFormsError)
    def library(exc: ComplaintFormsError):
        # A view that did not catch a refusal itself: the reason, still in plain words.
        if is_api():
            return jsonify(error=common.message(exc), field=exc.field), 422
        return page(422, common.message(exc))


__all__ = ["SESSION_COOKIE", "create_app"]
