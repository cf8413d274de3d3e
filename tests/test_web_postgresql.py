"""Two `complaintforms serve` processes on one PostgreSQL database (issue 16, item 4): the
same users and sessions, nothing a worker needs kept in its own memory or on its own disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from complaintforms.workspace import Workspace, init_workspace
from tests.browser_fixtures import free_port
from tests.webutil import PASSWORD, add_user

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def request(url: str, *, cookie: str = "", form: dict | None = None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")


def cookies_of(headers: dict) -> dict[str, str]:
    found = {}
    for name, value in headers.items():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            found[key] = rest.split(";", 1)[0]
    return found


@pytest.fixture
def two_servers(tmp_path: Path, pg_database: str):
    """One workspace folder per "machine", both configured for the same database."""
    env = {**os.environ, "COMPLAINTFORMS_DSN": pg_database, "COMPLAINTFORMS_LANG": "zh-CN"}
    roots = []
    for machine in ("a", "b"):
        root = init_workspace(tmp_path / machine).root
        config = root / "complaintforms.yaml"
        config.write_text(
            config.read_text(encoding="utf-8") + "\nstorage:\n  backend: postgresql\n",
            encoding="utf-8",
        )
        roots.append(root)
    os.environ["COMPLAINTFORMS_DSN"] = pg_database
    try:
        add_user(Workspace.open(roots[0]), "clerk")
    finally:
        del os.environ["COMPLAINTFORMS_DSN"]
    exe = Path(sys.executable).parent / "complaintforms"
    procs, urls = [], []
    for root in roots:
        port = free_port()
        procs.append(
            subprocess.Popen(
                [str(exe), "-w", str(root), "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url, proc in zip(urls, procs, strict=True):
        deadline = time.monotonic() + 60
        while not _up(url):
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
    yield urls, roots
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def _up(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/healthz", timeout=2).read()
        return True
    except OSError:
        return False


def test_a_sign_in_on_one_server_is_a_session_on_the_other(two_servers):
    (a, b), (root_a, root_b) = two_servers
    status, headers, page = request(a + "/login")
    login = cookies_of(headers)["cf_login"]
    token = CSRF.search(page).group(1)
    status, headers, _ = request(
        a + "/login",
        cookie=f"cf_login={login}",
        form={"csrf_token": token, "username": "wufang", "password": PASSWORD},
    )
    assert status == 303
    session = f"cf_session={cookies_of(headers)['cf_session']}"
    # The next request goes to the other machine: signed in there too, with the same CSRF.
    status, _, desk = request(b + "/", cookie=session)
    assert status == 200 and "吴芳" in desk
    csrf = CSRF.search(desk).group(1)
    status, headers, _ = request(
        b + "/cases/new",
        cookie=session,
        form={
            "csrf_token": csrf,
            "channel": "phone",
            "complainant.name": "王小明",
            "complainant.phone": "13812345678",
            "content": "更换刹车片后仍有异响",
        },
    )
    assert status == 303, status
    case_url = headers["Location"]
    # Registered on B, seen on A, with its record card served from the database.
    status, _, page = request(a + case_url, cookie=session)
    assert status == 200 and "王小明" in page
    card = re.search(r'href="(/cases/[^"]+/files/record_card-[0-9]+\.pdf)"', page).group(1)
    status, headers, body = request(a + card, cookie=session)
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    # Signing out on A ends the session on B.
    request(a + "/logout", cookie=session, form={"csrf_token": csrf})
    assert request(b + "/", cookie=session)[0] == 302
