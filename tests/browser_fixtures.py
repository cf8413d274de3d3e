"""A real `complaintforms serve` and Debian's Chromium driven by Playwright (issue 15, item 5).

`live` starts the production server (waitress) on a free port for the test's workspace,
with one user of each role (tests/webutil.py). `browser_page("clerk")` opens a new browser
context signed in as that role; every console error and uncaught JavaScript exception fails
the test, and `shot(page, name)` keeps a screenshot under build/screenshots/ to look at.

Chromium runs as root here (CI), so with --no-sandbox, and without the background
connections this machine's closed network refuses.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.webutil import PASSWORD, ROLE_USERS, add_user

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("Chromium is missing: `make test` installs Debian's chromium package")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live:
    def __init__(self, ws, url: str, proc: subprocess.Popen):
        self.ws, self.url, self.proc = ws, url, proc


@pytest.fixture
def live(ws):
    for role in ROLE_USERS:
        add_user(ws, role)
    port = free_port()
    exe = Path(sys.executable).parent / "complaintforms"
    log = open(ws.root / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(exe), "-w", str(ws.root), "serve", "--port", str(port), "--threads", "4"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COMPLAINTFORMS_LANG": "zh-CN"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError((ws.root / "serve.log").read_text(errors="replace")) from None
            time.sleep(0.2)
    yield Live(ws, url, proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


@pytest.fixture
def browser_page(chromium, live):
    """`browser_page("clerk")`: a page signed in as that role's user. Every uncaught
    JavaScript exception and console error fails the test when it ends, and so does a
    style sheet, script or image that does not load; a page the server answers with a
    refusal (a 422 form, a 403 or 404 page) is what a test asks for, though Chromium logs
    it to the console ("Failed to load resource: ... status of 422")."""
    contexts, messages, errors, refusals = [], [], [], set()

    def open_as(role: str | None):
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{role}: {exc}"))
        page.on(
            "console",
            lambda msg: (
                messages.append((role, msg.text, msg.location.get("url")))
                if msg.type == "error"
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                refusals.add((r.url, r.status))
                if r.request.resource_type == "document" and r.status >= 400
                else None
            ),
        )
        if role is not None:
            page.goto(live.url + "/login")
            page.fill("input[name=username]", ROLE_USERS[role][0])
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_as
    for context in contexts:
        context.close()
    for role, text, url in messages:
        failed = FAILED_LOAD.match(text)
        if not (failed and (url, int(failed.group(1))) in refusals):
            errors.append(f"{role}: console error: {text} ({url})")
    assert errors == []


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
