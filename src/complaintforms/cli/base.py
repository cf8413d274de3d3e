"""What every command shares: the root group, error mapping, --json, --by, progress bars.

The command modules (commands, procedure, archive, registers) import from here and add their
commands to `cli`; the package's __init__ imports them all. Heavy modules (WeasyPrint,
docxtpl, TinyDB) are imported inside the commands so that `complaintforms --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from complaintforms.errors import ComplaintFormsError

CHANNELS = "phone|letter|visit|email|web|wechat|opinion_book (or 来电 来信 来访 电子邮件 网站留言 微信 意见簿)"


def _json_anywhere(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """The hidden --json of a subcommand: sets the global flag (DESIGN.md section 14)."""
    state = ctx.find_object(State)
    if value and state is not None:
        state.json = True


def json_option() -> click.Option:
    """`--json` after the subcommand (`case show X --json`, `case --json show X`) means the same
    as the global `--json` before it. Every command added to a CFGroup gets this hidden flag, so
    click's own parser places it: it is an option wherever an option may stand, but not after
    `--`, and not when it is the value of another option (`--content --json` records the text
    "--json"). Hidden, so that each command's --help lists only its own options; the root's
    --help lists the global one."""
    return click.Option(
        ["--json", "json_anywhere"],
        is_flag=True,
        expose_value=False,
        hidden=True,
        callback=_json_anywhere,
        help="Print machine-readable JSON only on stdout (same as the global --json).",
    )


class CFGroup(click.Group):
    """Maps the library's exceptions to a one-line message and exit 1, never a traceback.

    Every command added to it also accepts `--json` (see json_option)."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            cmd.params.append(json_option())
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except ComplaintFormsError as exc:
            click.echo(f"complaintforms: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("complaintforms: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if os.environ.get("COMPLAINTFORMS_DEBUG"):
                raise
            click.echo(
                f"complaintforms: internal error: {type(exc).__name__}: {exc} "
                "(set COMPLAINTFORMS_DEBUG=1 for the traceback)",
                err=True,
            )
            ctx.exit(1)


class State:
    def __init__(self, workspace: str | None, as_json: bool):
        self.workspace_arg = workspace
        self.json = as_json
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            from complaintforms.workspace import Workspace

            self._ws = Workspace.open(self.workspace_arg)
        return self._ws


pass_state = click.make_pass_decorator(State)


def by_option(help: str = "Who did it (for the record and the audit log).", *decls: str, **kwargs):
    """--by: who acted. Without it the operator is $COMPLAINTFORMS_USER; without either the
    command is refused (DESIGN.md section 9): no command-specific stand-in such as "system"."""
    kwargs.setdefault("required", True)
    kwargs.setdefault("envvar", "COMPLAINTFORMS_USER")
    return click.option(
        "--by",
        *decls,
        metavar="NAME",
        help=f"{help} Default: $COMPLAINTFORMS_USER.",
        **kwargs,
    )


def emit(state: State, data: Any, text: str | None = None) -> None:
    """--json prints machine-readable data only; otherwise the text form."""
    if state.json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif text is not None:
        click.echo(text)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


def progress_bar(state: State, label: str, length: int):
    """A progress bar on stderr when a person is watching; silent in scripts and pipes."""
    if not sys.stderr.isatty():
        return _NoBar()
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


@click.group(cls=CFGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    metavar="DIR",
    envvar="COMPLAINTFORMS_WORKSPACE",
    help="Workspace folder (default: $COMPLAINTFORMS_WORKSPACE or the current folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only on stdout.")
@click.version_option(package_name="complaintforms")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, as_json: bool) -> None:
    """complaintforms: the customer-complaint procedure (客户投诉管理制度) on paper and PDF.

    Register complaints, print the forms that route them, keep the records safe.
    """
    ctx.obj = State(workspace, as_json)


# -- workspace -----------------------------------------------------------------------------------------


@cli.group(cls=CFGroup)
def case() -> None:
    """Register, show, list, import and export complaint cases."""
