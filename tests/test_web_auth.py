"""Sign-in, sessions, CSRF and roles of the web interface (DESIGN.md sections 9 and 11)."""

from __future__ import annotations

import re

from complaintforms.services import users
from tests.webutil import PASSWORD, WebClient, add_user


def test_every_page_but_sign_in_needs_a_session(web_app):
    client = web_app.test_client()
    response = client.get("/cases")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/login").status_code == 200
    assert client.get("/api/v1/cases").status_code == 401
    assert client.post("/logout").status_code in (302, 303)


def test_sign_in_sets_an_httponly_lax_cookie_new_each_time_and_sign_out_ends_it(ws, web_app):
    add_user(ws, "clerk")
    first = WebClient(web_app)
    response = first.login("wufang")
    cookie = response.headers["Set-Cookie"]
    assert "cf_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS the cookie is Secure
    second = WebClient(web_app)
    again = second.login("wufang").headers["Set-Cookie"]
    assert cookie.split(";")[0] != again.split(";")[0]
    assert first.get("/").status_code == 200
    assert first.post("/logout").status_code == 303
    assert first.get("/").status_code == 302  # that session ended
    assert second.get("/").status_code == 200  # the other one did not
    events = [e["action"] for e in ws.store.iter_events()]
    assert events.count("user.login") == 2 and "user.logout" in events


def test_a_wrong_password_is_refused_and_five_in_a_row_lock_the_user(ws, web_app):
    add_user(ws, "clerk")
    client = WebClient(web_app)
    for _ in range(4):
        page = client.login("wufang", "wrong-password", expect=422)
        assert "wrong user name or password" in page.get_data(as_text=True)
    client.login("nobody", "wrong-password", expect=422)  # the same words for no such user
    client.login("wufang", "wrong-password", expect=422)  # the fifth of this user
    locked = client.login("wufang", PASSWORD, expect=422).get_data(as_text=True)
    assert "too many failed sign-ins" in locked
    assert ws.store.get("wufang", "users")["locked_until"]
    users.set_password(ws, "wufang", PASSWORD, by="管理员")  # an admin lifts it
    client.login("wufang")


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(ws, web):
    clerk = web("clerk")
    before = ws.store.audit_head()
    assert clerk.post("/logout", csrf=False).status_code == 403
    assert clerk.post("/logout", {"csrf_token": "forged"}).status_code == 403
    assert ws.store.audit_head() == before
    assert clerk.get("/").status_code == 200  # still signed in


def test_sign_in_itself_needs_its_form_token(ws, web_app):
    add_user(ws, "clerk")
    client = web_app.test_client()
    response = client.post("/login", data={"username": "wufang", "password": PASSWORD})
    assert response.status_code == 403
    assert "cf_session" not in response.headers.get("Set-Cookie", "")


def test_a_disabled_user_is_signed_out_at_the_next_request(ws, web):
    clerk = web("clerk")
    users.set_active(ws, "wufang", False, by="管理员")
    assert clerk.get("/").status_code == 302
    client = WebClient(clerk.app)
    assert "disabled" in client.login("wufang", expect=422).get_data(as_text=True)


def test_after_sign_in_only_a_path_of_this_site_is_followed(ws, web_app):
    add_user(ws, "clerk")
    client = web_app.test_client()
    for target, expected in (
        ("/cases", "/cases"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
    ):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
        response = client.post(
            "/login",
            data={"csrf_token": token, "username": "wufang", "password": PASSWORD, "next": target},
        )
        assert response.headers["Location"] == expected


def test_pages_are_not_framed_or_cached(web):
    response = web("clerk").get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
