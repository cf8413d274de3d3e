"""The command line: a thin layer over the library. `cli` is the root group; importing the
command modules adds their commands to it."""

from complaintforms.cli import (  # noqa: F401
    archive,
    audit,
    commands,
    db,
    evidence,
    procedure,
    registers,
    supervision,
    users,
    web,
)
from complaintforms.cli.base import cli


def main() -> None:
    import os

    from complaintforms import i18n
    from complaintforms.cli.base import configured_language

    # Before parsing, so that `complaintforms --help` is in the workspace's language too.
    i18n.choose(configured_language(os.environ.get("COMPLAINTFORMS_WORKSPACE")))
    cli(prog_name="complaintforms")


__all__ = ["cli", "main"]
