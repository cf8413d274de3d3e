"""`user ...` (DESIGN.md section 9): users and roles of the web interface, managed from the
command line; passwords as argon2id hashes that never reach output or the audit log."""

from __future__ import annotations

import json

from complaintforms.services import users

PW = "correct-horse-1\n"


def test_add_list_disable_enable_and_the_record_keeps_only_a_hash(cf, ws):
    made = cf.json(
        "user",
        "add",
        "wufang",
        "--role",
        "clerk",
        "--display-name",
        "吴芳",
        "--password-stdin",
        input=PW,
    )
    assert made == {
        **made,
        "name": "wufang",
        "display_name": "吴芳",
        "role": "clerk",
        "active": True,
        "department": None,
    }
    assert "password" not in made
    dep = cf.json(
        "user",
        "add",
        "liming",
        "--role",
        "department",
        "--department",
        "售后服务部",
        "--password-stdin",
        input=PW,
    )
    assert dep["department"] == "SVC"  # a name is taken as its code
    listed = cf.json("user", "list")
    assert [u["name"] for u in listed] == ["liming", "wufang"]
    stored = ws.store.get("wufang", "users")
    assert stored["password"].startswith("$argon2id$") and "correct-horse" not in stored["password"]
    assert cf("user", "disable", "wufang").exit_code == 0
    assert not ws.store.get("wufang", "users")["active"]
    again = cf("user", "disable", "wufang")
    assert again.exit_code == 1 and "already disabled" in again.stderr
    assert cf("user", "enable", "wufang").exit_code == 0
    log = json.dumps(list(ws.store.iter_events()), ensure_ascii=False)
    assert "argon2" not in log and "correct-horse" not in log
    actions = [e["action"] for e in ws.store.iter_events()]
    assert actions.count("user.add") == 2 and "user.disable" in actions and "user.enable" in actions
    assert {e["by"] for e in ws.store.iter_events() if e["action"] == "user.add"} == {"测试员"}


def test_refusals_are_one_line_and_store_nothing(cf, ws):
    short = cf("user", "add", "wufang", "--role", "clerk", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and short.stderr.count("\n") == 1
    assert "at least 8 characters" in short.stderr
    no_dep = cf("user", "add", "liming", "--role", "department", "--password-stdin", input=PW)
    assert no_dep.exit_code == 1 and "--department" in no_dep.stderr
    clerk_dep = cf(
        "user", "add", "x1", "--role", "clerk", "--department", "SVC", "--password-stdin", input=PW
    )
    assert clerk_dep.exit_code == 1
    bad_name = cf("user", "add", "吴 芳", "--role", "clerk", "--password-stdin", input=PW)
    assert bad_name.exit_code == 1 and "not a user name" in bad_name.stderr
    assert cf("user", "add", "x2", "--role", "boss", "--password-stdin", input=PW).exit_code == 2
    assert ws.store.count("users") == 0
    assert (
        cf("user", "add", "wufang", "--role", "clerk", "--password-stdin", input=PW).exit_code == 0
    )
    twice = cf("user", "add", "wufang", "--role", "manager", "--password-stdin", input=PW)
    assert twice.exit_code == 1 and "already exists" in twice.stderr
    assert ws.store.get("wufang", "users")["role"] == "clerk"
    missing = cf("user", "passwd", "nobody", "--password-stdin", input=PW)
    assert missing.exit_code == 1 and "no user nobody" in missing.stderr


def test_user_commands_record_who_did_them(cf, ws, monkeypatch):
    monkeypatch.delenv("COMPLAINTFORMS_USER")
    result = cf("user", "add", "wufang", "--role", "clerk", "--password-stdin", input=PW)
    assert result.exit_code == 2 and "--by" in result.stderr
    assert ws.store.count("users") == 0


def test_a_new_password_works_the_old_does_not_and_a_lock_is_lifted(cf, ws):
    cf("user", "add", "wufang", "--role", "clerk", "--password-stdin", input=PW)
    assert users.authenticate(ws, "wufang", "correct-horse-1")["name"] == "wufang"
    assert (
        cf("user", "passwd", "wufang", "--password-stdin", input="another-pass-2\n").exit_code == 0
    )
    try:
        users.authenticate(ws, "wufang", "correct-horse-1")
        raise AssertionError("the old password still works")
    except users.AuthError:
        pass
    assert users.authenticate(ws, "wufang", "another-pass-2")["name"] == "wufang"


def test_a_token_is_shown_once_kept_hashed_and_stops_with_its_user(cf, ws):
    cf("user", "add", "wufang", "--role", "clerk", "--password-stdin", input=PW)
    secret = cf("user", "token", "wufang").stdout.strip()
    assert secret.startswith("cf_") and len(secret) > 40
    assert users.token_user(ws, secret)["name"] == "wufang"
    assert users.token_user(ws, secret[:-1] + "x") is None
    stored = [t["id"] for t in ws.store.iter_records("tokens")]
    assert stored == [users.digest(secret)] and secret not in json.dumps(
        list(ws.store.iter_events())
    )
    cf("user", "disable", "wufang")
    assert users.token_user(ws, secret) is None
