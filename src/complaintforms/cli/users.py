"""`user ...`: the web interface's users and roles (DESIGN.md section 9)."""

from __future__ import annotations

import sys

import click

from complaintforms.cli.base import CFGroup, State, by_option, cli, emit, pass_state, tr
from complaintforms.domain.roles import ROLE_LABELS, ROLES


@cli.group("user", cls=CFGroup)
def user() -> None:
    """Users of the web interface: add, list, disable, enable, set passwords, API tokens."""


def read_password(from_stdin: bool) -> str:
    """The password: the first line of standard input (scripts), or asked twice, hidden."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(
        tr("Password"), hide_input=True, confirmation_prompt=tr("Repeat the password")
    )


def password_option(func):
    return click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input instead of asking.",
    )(func)


def role_text(role: str) -> str:
    return tr(ROLE_LABELS[role]) if role in ROLE_LABELS else role


@user.command("add")
@click.argument("name")
@click.option(
    "--role", "role_name", required=True, type=click.Choice(ROLES), help="What the user may do."
)
@click.option("--department", help="The department of a department user (code or name).")
@click.option("--display-name", help="The person's name (姓名), recorded as who did each step.")
@password_option
@by_option("Who adds the user.")
@pass_state
def user_add(state: State, name, role_name, department, display_name, password_stdin, by) -> None:
    """Add a user with a role (clerk, department, manager, auditor, admin)."""
    from complaintforms.services.users import add_user

    made = add_user(
        state.ws,
        name,
        role_name=role_name,
        department=department,
        display_name=display_name,
        password_text=read_password(password_stdin),
        by=by,
    )
    emit(
        state,
        made,
        tr("added user {name} ({role})", name=made["name"], role=role_text(made["role"])),
    )


@user.command("list")
@pass_state
def user_list(state: State) -> None:
    """List the users, their roles and whether they may sign in."""
    from complaintforms.services.users import list_users

    users = list_users(state.ws)
    lines = []
    for u in users:
        dep = state.ws.config.department(u["department"]) if u["department"] else None
        lines.append(
            "\t".join(
                [
                    u["name"],
                    u["display_name"] or "",
                    role_text(u["role"]),
                    dep.name if dep else "",
                    tr("enabled") if u["active"] else tr("disabled"),
                ]
            )
        )
    emit(state, users, "\n".join(lines) if lines else tr("no users"))


@user.command("disable")
@click.argument("name")
@by_option("Who disables the user.")
@pass_state
def user_disable(state: State, name: str, by: str) -> None:
    """Stop a user signing in; their sessions and tokens stop working at once."""
    from complaintforms.services.users import set_active

    emit(state, set_active(state.ws, name, False, by=by), tr("disabled user {name}", name=name))


@user.command("enable")
@click.argument("name")
@by_option("Who enables the user.")
@pass_state
def user_enable(state: State, name: str, by: str) -> None:
    """Let a disabled user sign in again."""
    from complaintforms.services.users import set_active

    emit(state, set_active(state.ws, name, True, by=by), tr("enabled user {name}", name=name))


@user.command("passwd")
@click.argument("name")
@password_option
@by_option("Who sets the password.")
@pass_state
def user_passwd(state: State, name: str, password_stdin: bool, by: str) -> None:
    """Set a user's password (and lift a lock after failed sign-ins)."""
    from complaintforms.services.users import get_user, set_password

    get_user(state.ws, name)  # before asking for a password of no one
    made = set_password(state.ws, name, read_password(password_stdin), by=by)
    emit(state, made, tr("password of {name} set", name=name))


@user.command("token")
@click.argument("name")
@by_option("Who makes the token.")
@pass_state
def user_token(state: State, name: str, by: str) -> None:
    """Print a new API token for the user (shown once; only its hash is kept)."""
    from complaintforms.services.users import new_token

    secret = new_token(state.ws, name, by=by)
    emit(state, {"name": name, "token": secret}, secret)
