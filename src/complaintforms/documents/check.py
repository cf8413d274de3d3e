"""`forms check`: every template against its form's fields, and docx tags typed with a
Chinese input method (full-width braces, smart quotes) that would break docxtpl."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from complaintforms.documents.forms import FORMS, HTML_ONLY_FIELDS, FormSpec, get_form
from complaintforms.i18n import N_
from complaintforms.storage.base import Message

# Characters a Chinese IME or Word's autocorrect puts where a template tag needs ASCII.
LOOKALIKES = {
    "｛": "{",
    "｝": "}",
    "％": "%",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "（": "(",
    "）": ")",
}
_TAG = re.compile(r"[{｛][{%％｛](.*?)[}%％｝][}｝]", re.S)
_HALF_TAG = re.compile(r"[{｛][{%％｛]|[}%％｝][}｝]")


class Problem(Message):
    """One problem of one template. `str(problem)` is the English text
    ("forms/record_card.html: missing"), which --json output keeps; `problem.render(_)` is the
    same in the user's language. The message id names the template as {template}."""

    def __new__(cls, template: str, msgid: str, **params: Any) -> Problem:
        return super().__new__(cls, msgid, template=template, **params)

    @property
    def template(self) -> str:
        return self.params["template"]


def html_variables(forms_dir: Path, name: str) -> set[str]:
    """Top-level names a template and the templates it extends or includes use."""
    from jinja2 import meta

    from complaintforms.documents.render import jinja_env

    env = jinja_env(forms_dir)
    seen: set[str] = set()
    names: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        source = env.loader.get_source(env, current)[0]
        ast = env.parse(source)
        names |= meta.find_undeclared_variables(ast)
        pending.extend(t for t in meta.find_referenced_templates(ast) if t)
    return names


def docx_paragraph_texts(path: Path) -> list[tuple[str, str]]:
    """(part name, paragraph text) for body, headers and footers."""
    from lxml import etree

    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    out = []
    with zipfile.ZipFile(path) as zf:
        for part in zf.namelist():
            if not re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", part):
                continue
            root = etree.fromstring(zf.read(part))
            for p in root.iter(f"{ns}p"):
                text = "".join(t.text or "" for t in p.iter(f"{ns}t"))
                if text:
                    out.append((part, text))
    return out


def check_docx_typography(path: Path, label: str) -> list[Problem]:
    problems = []
    for number, (part, text) in enumerate(docx_paragraph_texts(path), 1):
        for tag in _TAG.finditer(text):
            bad = sorted({c for c in tag.group(0) if c in LOOKALIKES})
            if bad:
                problems.append(
                    Problem(
                        label,
                        N_("{template}: {part} paragraph {number}: tag {tag} has {characters}"),
                        part=part,
                        number=number,
                        tag=repr(tag.group(0)[:40]),
                        characters=[
                            Message(
                                N_("{character} (use {ascii})"), character=c, ascii=LOOKALIKES[c]
                            )
                            for c in bad
                        ],
                    )
                )
        if not _TAG.search(text) and _HALF_TAG.search(text) and any(c in text for c in "｛｝％"):
            problems.append(
                Problem(
                    label,
                    N_(
                        "{template}: {part} paragraph {number}: a tag typed with full-width "
                        "characters: {text}"
                    ),
                    part=part,
                    number=number,
                    text=repr(text[:40]),
                )
            )
    return problems


def docx_variables(path: Path) -> set[str]:
    from docxtpl import DocxTemplate

    from complaintforms.documents.render import jinja_env

    return DocxTemplate(str(path)).get_undeclared_template_variables(jinja_env())


def template_error(label: str, exc) -> Problem:
    """A template Jinja2 cannot parse: the line when known, and Jinja2's own words."""
    error = exc.message or str(exc)
    if getattr(exc, "lineno", None):
        return Problem(
            label,
            N_("{template} line {line}: template error: {error}"),
            line=exc.lineno,
            error=error,
        )
    return Problem(label, N_("{template}: template error: {error}"), error=error)


def check_form(forms_dir: Path, spec: FormSpec) -> list[Problem]:
    from jinja2 import TemplateError

    problems: list[Problem] = []
    expected = set(spec.fields)
    found: dict[str, set[str]] = {}
    html_name, docx_name = f"{spec.name}.html", f"{spec.name}.docx"
    if not (forms_dir / html_name).is_file():
        problems.append(Problem(f"forms/{html_name}", N_("{template}: missing")))
    else:
        try:
            found["html"] = html_variables(forms_dir, html_name) - set(HTML_ONLY_FIELDS)
        except TemplateError as exc:
            problems.append(template_error(f"forms/{html_name}", exc))
    docx_path = forms_dir / docx_name
    if not docx_path.is_file():
        problems.append(Problem(f"forms/{docx_name}", N_("{template}: missing")))
    else:
        typo = check_docx_typography(docx_path, f"forms/{docx_name}")
        problems.extend(typo)
        if not typo:
            try:
                found["docx"] = docx_variables(docx_path)
            except TemplateError as exc:
                problems.append(template_error(f"forms/{docx_name}", exc))
            except (zipfile.BadZipFile, KeyError, ValueError) as exc:
                problems.append(
                    Problem(
                        f"forms/{docx_name}",
                        N_("{template}: not a Word document: {error}"),
                        error=str(exc),
                    )
                )
    for fmt, names in found.items():
        label = f"forms/{spec.name}.{fmt}"
        unknown = sorted(names - expected)
        unused = sorted(expected - names)
        if unknown:
            problems.append(
                Problem(
                    label,
                    N_("{template}: uses fields the form does not have: {fields}"),
                    fields=", ".join(unknown),
                )
            )
        if unused:
            problems.append(
                Problem(
                    label,
                    N_("{template}: does not show the form's fields: {fields}"),
                    fields=", ".join(unused),
                )
            )
    return problems


def check_forms(forms_dir: Path, names: list[str] | None = None) -> list[Problem]:
    """Every problem of the templates of `names` (all forms when None), and every file in
    forms/ that leads outside it. Each is a str (the English text); show it with
    `problem.render(_)` in the user's language."""
    problems = check_links(Path(forms_dir))
    for name in names or list(FORMS):
        problems.extend(check_form(Path(forms_dir), get_form(name)))
    return problems


def check_links(forms_dir: Path) -> list[Problem]:
    """Links (to files or folders) and other entries of forms/ that are not regular files
    inside it: a template could read a file elsewhere through them, so none is used."""
    from complaintforms.documents.render import inside_forms

    problems = []
    if not forms_dir.is_dir():
        return problems
    for path in sorted(forms_dir.rglob("*")):
        label = f"forms/{path.relative_to(forms_dir).as_posix()}"
        if path.is_symlink() and not inside_forms(forms_dir, path):
            if path.resolve().is_dir() and path.resolve().is_relative_to(forms_dir.resolve()):
                continue
            problems.append(
                Problem(
                    label,
                    N_("{template}: a link to {target}, outside forms/; templates cannot use it"),
                    target=str(path.resolve()),
                )
            )
    return problems
