"""The web interface in a real browser (issue 15, item 5): Debian's Chromium driven by
Playwright against `complaintforms serve`, as each role, in Chinese."""

from __future__ import annotations

from tests.browser_fixtures import shot
from tests.webutil import ROLE_USERS


def test_sign_in_with_the_keyboard_and_out_again(browser_page, live):
    page = browser_page(None)
    page.goto(live.url + "/cases")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "登录"
    # The user name field has the focus: type, Tab to the password, Enter submits.
    page.keyboard.type(ROLE_USERS["clerk"][0])
    page.keyboard.press("Tab")
    page.keyboard.type("correct-horse-1")
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/cases")
    assert "吴芳" in page.locator("header").inner_text()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(lambda url: "/login" in url)
    page.goto(live.url + "/")
    assert "/login" in page.url


def test_a_wrong_password_is_shown_beside_the_form_in_chinese(browser_page, live):
    page = browser_page(None)
    page.goto(live.url + "/login")
    page.fill("input[name=username]", "wufang")
    page.fill("input[name=password]", "wrong-password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-password")
    assert page.locator("#error-password").inner_text() == "用户名或密码错误"
    shot(page, "login-refused")
