"""The command line: a thin layer over the library. `cli` is the root group; importing the
command modules adds their commands to it."""

from complaintforms.cli import archive, commands, procedure, registers  # noqa: F401
from complaintforms.cli.base import cli


def main() -> None:
    cli(prog_name="complaintforms")


__all__ = ["cli", "main"]
