"""Reading a PDF the way strict readers and archive validators do: qpdf, poppler, the fonts,
the PDF/A identification. Each check returns the problems it found, so that a test over
many files names every bad one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, timeout=120)


def qpdf_problems(path: Path) -> list[str]:
    """`qpdf --check` must pass without a single warning (qpdf repairs silently otherwise)."""
    proc = _run("qpdf", "--check", str(path))
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    warnings = [line for line in out.splitlines() if "WARNING" in line]
    if proc.returncode != 0 or warnings:
        return [f"{path.name}: qpdf --check exit {proc.returncode}: {(warnings or [out])[0][:200]}"]
    return []


def poppler_problems(path: Path) -> list[str]:
    """poppler reads it without a syntax error, and every font is embedded (pdffonts)."""
    problems = []
    text = _run("pdftotext", "-layout", str(path), "-")
    err = text.stderr.decode("utf-8", "replace")
    if text.returncode != 0 or "Error" in err or "Warning" in err:
        first = err.strip().splitlines()[0][:200] if err.strip() else f"exit {text.returncode}"
        problems.append(f"{path.name}: poppler: {first}")
    fonts = _run("pdffonts", str(path))
    ferr = fonts.stderr.decode("utf-8", "replace")
    if fonts.returncode != 0 or "Error" in ferr:
        problems.append(f"{path.name}: pdffonts: {ferr.strip()[:200]}")
    rows = fonts.stdout.decode("utf-8", "replace").splitlines()[2:]
    if not rows:
        problems.append(f"{path.name}: pdffonts lists no font")
    for row in rows:
        # name type encoding emb sub uni object ID: emb is the fourth column from the end.
        cols = row.split()
        if len(cols) < 7 or cols[-5] != "yes":
            problems.append(f"{path.name}: font not embedded: {row.strip()}")
    return problems


def pdfa_problems(path: Path, part: int = 3, conformance: str = "U") -> list[str]:
    """The PDF/A identification in the XMP metadata (ISO 19005) and an output intent."""
    proc = _run("qpdf", "--qdf", "--object-streams=disable", str(path), "-")
    data = proc.stdout
    problems = []
    got_part = re.search(rb"pdfaid:part(?:>|=\")(\d)", data)
    got_conf = re.search(rb"pdfaid:conformance(?:>|=\")([ABU])", data)
    if not got_part or int(got_part.group(1)) != part:
        problems.append(f"{path.name}: no PDF/A-{part} identification (pdfaid:part)")
    if not got_conf or got_conf.group(1).decode() != conformance:
        problems.append(f"{path.name}: PDF/A conformance is not {conformance}")
    if b"/OutputIntents" not in data:
        problems.append(f"{path.name}: no output intent (PDF/A needs one)")
    return problems


def pdf_problems(path: Path, *, pdfa: bool = True) -> list[str]:
    problems = qpdf_problems(path) + poppler_problems(path)
    if pdfa:
        problems += pdfa_problems(path)
    return problems
