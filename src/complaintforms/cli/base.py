"""What every command shares: the root group, error mapping, --json, --by, progress bars.

The command modules (commands, procedure, archive, registers) import from here and add their
commands to `cli`; the package's __init__ imports them all. Heavy modules (WeasyPrint,
docxtpl, TinyDB) are imported inside the commands so that `complaintforms --help` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from complaintforms import i18n
from complaintforms.errors import ComplaintFormsError
from complaintforms.i18n import N_, _

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


@contextlib.contextmanager
def _translated_help(command: click.Command, ctx: click.Context | None) -> Iterator[None]:
    """Help texts are message ids: shown in the user's language while help is printed."""
    items = [command, *command.get_params(ctx)] if ctx is not None else [command]
    saved = [
        (item, getattr(item, "help", None), getattr(item, "short_help", None)) for item in items
    ]
    try:
        for item, help_text, short in saved:
            if help_text:
                item.help = _(help_text)
            if short:
                item.short_help = _(short)
        yield
    finally:
        for item, help_text, short in saved:
            item.help = help_text
            if short is not None or hasattr(item, "short_help"):
                item.short_help = short


class TranslatedHelp:
    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated_help(self, ctx):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated_help(self, None):
            return super().get_short_help_str(limit)


# The options of the command being run, by parameter name: how its errors name their fields.
_RUNNING: dict[str, str] = {}


class CFCommand(TranslatedHelp, click.Command):
    """A command whose help is shown in the user's language."""

    def invoke(self, ctx: click.Context) -> Any:
        _RUNNING.clear()
        for p in self.params:
            if isinstance(p, click.Option) and p.name:
                # By the parameter's name (received_at -> --at) and by the option's own name
                # (format -> --format, whose parameter is called formats).
                _RUNNING[p.opts[0].lstrip("-").replace("-", "_")] = p.opts[0]
                _RUNNING[p.name] = p.opts[0]
        return super().invoke(ctx)


def tr(msgid: str, **params: Any) -> str:
    """A message of the command line in the user's language, its values filled in."""
    return _(msgid).format(**params)


def field_flag(field: str) -> str:
    """A library error's field as the command line names it: the running command's option
    for it (department -> --department, received_at -> --at), or the field itself (a dotted
    key of an input file such as complainant.phone, or a field no option of this command
    sets)."""
    return _RUNNING.get(field, field)


def shown(text: Any) -> str:
    """A text the library returned (a notice with values, or a plain message id) in the
    user's language."""
    render = getattr(text, "render", None)
    return render(_, field_flag) if callable(render) else _(str(text))


def os_error_line(exc: OSError) -> str:
    import errno

    where = exc.filename or ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return tr("no space left on the disk (writing {path}); nothing was changed", path=where)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return tr(
            "cannot write {path}: the folder is read-only or not permitted; nothing was changed",
            path=where,
        )
    return tr("cannot read or write {path}: {error}", path=where, error=exc.strerror or str(exc))


def report_problems(state: State, problems: list) -> None:
    """Every problem a check found (bundles, the audit log): listed, counted, exit 1."""
    emit(state, {"ok": False, "problems": problems}, "\n".join(shown(p) for p in problems))
    click.echo("complaintforms: " + tr("{n} problem(s) found", n=len(problems)), err=True)
    sys.exit(1)


def error_line(exc: ComplaintFormsError) -> str:
    return exc.render(_, field_flag)


class CFGroup(TranslatedHelp, click.Group):
    """Maps the library's exceptions to a one-line message and exit 1, never a traceback.

    Every command added to it also accepts `--json` (see json_option); its commands and
    groups show their help in the user's language."""

    command_class = CFCommand
    group_class = type

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
            click.echo(f"complaintforms: {error_line(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            # A full disk or a read-only folder: plain words, not a traceback. Every write
            # goes through a transaction, so nothing is left half-written.
            click.echo(f"complaintforms: {os_error_line(exc)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo(f"complaintforms: {_(N_('interrupted'))}", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if os.environ.get("COMPLAINTFORMS_DEBUG"):
                raise
            click.echo(
                "complaintforms: "
                + _(
                    N_("internal error: {error} (set COMPLAINTFORMS_DEBUG=1 for the traceback)")
                ).format(error=f"{type(exc).__name__}: {exc}"),
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


def by_option(
    help: str = N_("Who did it (for the record and the audit log)."), *decls: str, **kwargs
):
    """--by: who acted. Without it the operator is $COMPLAINTFORMS_USER; without either the
    command is refused (DESIGN.md section 9): no command-specific stand-in such as "system"."""
    kwargs.setdefault("required", True)
    kwargs.setdefault("envvar", "COMPLAINTFORMS_USER")
    kwargs.setdefault("show_envvar", kwargs["envvar"] is not None)
    return click.option("--by", *decls, metavar="NAME", help=help, **kwargs)


def emit(state: State, data: Any, text: str | None = None) -> None:
    """--json prints machine-readable data only; otherwise the text form."""
    if state.json:
        if state._ws is not None and not state._ws.store.files_are_local:
            _copy_files_named(state._ws, data)
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif text is not None:
        click.echo(text)


def _copy_files_named(ws, data: Any) -> None:
    """The files a JSON answer names ("records/…", as recorded) copied out of a store that
    keeps them elsewhere (PostgreSQL) to where the name points in the workspace, as the
    text form does by printing local paths: a script prints what it was told of."""
    if isinstance(data, dict):
        for key, value in data.items():
            if (
                key in ("path", "bundle")
                and isinstance(value, str)
                and value.startswith("records/")
            ):
                ws.local_path(value)
            else:
                _copy_files_named(ws, value)
    elif isinstance(data, list):
        for value in data:
            _copy_files_named(ws, value)


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
    i18n.choose(configured_language(workspace))


def configured_language(workspace: str | None) -> str | None:
    """The `language:` line of the workspace's complaintforms.yaml, read without parsing the
    YAML (every command starts here, most before they need the config); the config's own
    check of the value happens when the config is loaded."""
    import re
    from pathlib import Path

    from complaintforms.config import CONFIG_NAME

    try:
        text = (Path(workspace or ".") / CONFIG_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^language:\s*[\"']?([\w-]+)", text, re.MULTILINE)
    return found.group(1) if found else None


# -- workspace -----------------------------------------------------------------------------------------


@cli.group(cls=CFGroup)
def case() -> None:
    """Register, show, list, import and export complaint cases."""
