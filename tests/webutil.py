"""Driving the web interface in tests: users of each role, a client that signs in and sends
the session's CSRF token with every POST, and reading values back from the pages."""

from __future__ import annotations

import re

from complaintforms.services import users
from complaintforms.workspace import Workspace

PASSWORD = "correct-horse-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')

# One user of each role, as `user add` makes them (the department user is SVC's).
ROLE_USERS = {
    "clerk": ("wufang", "吴芳", None),
    "manager": ("zhaomin", "赵敏", None),
    "department": ("liming", "李明", "SVC"),
    "auditor": ("qianli", "钱力", None),
    "admin": ("admin", "管理员", None),
}


def add_user(
    ws: Workspace,
    role: str,
    name: str | None = None,
    department: str | None = None,
    display: str | None = None,
) -> dict:
    default_name, default_display, default_dep = ROLE_USERS[role]
    return users.add_user(
        ws,
        name or default_name,
        role_name=role,
        department=department if department is not None else default_dep,
        display_name=display or (default_display if name is None else name),
        password_text=PASSWORD,
        by="测试员",
    )


class WebClient:
    """A Flask test client signed in as one user; `post` adds the CSRF token unless
    `csrf=False` (or a token of your own is in `data`)."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.csrf = ""

    def login(self, name: str, password: str = PASSWORD, *, expect: int = 303):
        page = self.client.get("/login")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        response = self.client.post(
            "/login", data={"csrf_token": token, "username": name, "password": password}
        )
        assert response.status_code == expect, response.get_data(as_text=True)[:2000]
        if expect == 303:
            self.refresh_csrf()
        return response

    def refresh_csrf(self) -> str:
        found = CSRF.search(self.client.get("/").get_data(as_text=True))
        self.csrf = found.group(1) if found else ""
        return self.csrf

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf
        return self.client.post(path, data=data, **kwargs)

    def text(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code)
        return response.get_data(as_text=True)
