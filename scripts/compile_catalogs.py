"""The message catalogs: extract, check, compile (DESIGN.md section 14).

Sources are locale/zh_CN/*.po at the repository root, one file per part of the package
(cli.po, domain.po, services.po, documents.po, ...), merged into the one compiled catalog
the package reads: src/complaintforms/locale/zh_CN/LC_MESSAGES/complaintforms.mo.

    python scripts/compile_catalogs.py            compile (after editing a .po)
    python scripts/compile_catalogs.py --check    every message of the code translated, and
                                                  the compiled catalog up to date (exit 1 if not)
    python scripts/compile_catalogs.py --missing  print the untranslated ids as .po entries

Message ids are found by Babel in `_()` and `N_()` calls (in the code and in the web
interface's templates), and in the help texts of every command and option (click takes them
from docstrings and `help=`).
"""

from __future__ import annotations

import datetime
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "locale" / "zh_CN"
PACKAGE = REPO / "src" / "complaintforms"
COMPILED = PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "complaintforms.mo"


def merged() -> Catalog:
    """Every .po under locale/zh_CN, one catalog; an id translated two ways is an error."""
    # Fixed dates in the header: the compiled file depends on the translations only, so
    # that --check can compare it byte for byte.
    fixed = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    catalog = Catalog(
        locale="zh_CN",
        domain="complaintforms",
        project="complaintforms",
        creation_date=fixed,
        revision_date=fixed,
    )
    seen: dict[str, tuple[str, str]] = {}
    for path in sorted(SOURCES.glob("*.po")):
        with open(path, "rb") as fh:
            part = read_po(fh, locale="zh_CN")
        for message in part:
            if not message.id:
                continue
            if message.id in seen and seen[message.id][0] != message.string:
                raise SystemExit(
                    f"{path.name}: {message.id!r} is translated differently in {seen[message.id][1]}"
                )
            seen[message.id] = (message.string, path.name)
            catalog.add(message.id, message.string)
    return catalog


def compiled_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def translations(mo: bytes) -> dict[str, str]:
    """The messages of a compiled catalog without its header, which names the Babel version
    that wrote it: a newer Babel on a fresh machine is no change of the translations."""
    import gettext

    catalog = gettext.GNUTranslations(io.BytesIO(mo))._catalog  # noqa: SLF001
    return {k: v for k, v in catalog.items() if k != ""}


def code_messages() -> set[str]:
    """Ids marked in the code, and every help text of the command line."""
    ids: set[str] = set()
    keywords = {"_": None, "N_": None, "tr": None}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE),
        # The web interface's templates mark their texts with _() too.
        method_map=[("**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")],
        keywords=keywords,
    ):
        if isinstance(message, str) and message:
            ids.add(message)
    sys.path.insert(0, str(REPO / "src"))
    import click

    from complaintforms.cli import cli

    def walk(command: click.Command) -> None:
        for text in (command.help, command.short_help):
            if text:
                ids.add(text)
        for param in command.params:
            if getattr(param, "help", None) and not getattr(param, "hidden", False):
                ids.add(param.help)
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(cli)
    return ids


def main(argv: list[str]) -> int:
    catalog = merged()
    if "--check" in argv or "--missing" in argv:
        translated = {m.id for m in catalog if m.id and m.string}
        missing = sorted(code_messages() - translated)
        if "--missing" in argv:
            for msgid in missing:
                escaped = msgid.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                print(f'msgid "{escaped}"\nmsgstr ""\n')
            return 0
        problems = [f"not translated: {m!r}" for m in missing]
        if not COMPILED.exists() or translations(COMPILED.read_bytes()) != translations(
            compiled_bytes(catalog)
        ):
            problems.append(
                f"{COMPILED.relative_to(REPO)} is out of date: run {Path(__file__).name}"
            )
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    COMPILED.parent.mkdir(parents=True, exist_ok=True)
    COMPILED.write_bytes(compiled_bytes(catalog))
    print(f"wrote {COMPILED.relative_to(REPO)} ({len(catalog)} messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
