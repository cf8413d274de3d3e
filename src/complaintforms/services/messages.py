"""User-visible texts that the services return rather than raise: warnings of a step, the
reason a scanned page was kept unmatched, the problems of an archive bundle, doctor's
findings.

A `Notice` is the English text itself (a `str`: it goes as it is into JSON output, notes
kept beside unmatched scans and the audit log, and compares equal to the English text),
and also carries its message id, its field and its values, so that an interface shows it
in the user's language the way it shows an error: `notice.render(_, field_flag)`. Values
that are themselves notices or library errors are rendered in the same language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from complaintforms.errors import ComplaintFormsError
from complaintforms.errors import Notice as BaseNotice
from complaintforms.i18n import N_

Translate = Callable[[str], str] | None
FieldName = Callable[[str], str] | None


def _renders(value: Any) -> bool:
    return isinstance(value, ComplaintFormsError) or (
        isinstance(value, str) and callable(getattr(value, "render", None))
    )


class Notice(BaseNotice):
    """errors.Notice, with the conversions the services need."""

    def as_error(self, cls: type[ComplaintFormsError] = ComplaintFormsError) -> ComplaintFormsError:
        """The same message as a library error (to be raised, or to be a value of one)."""
        params = {k: v.as_error() if isinstance(v, Notice) else v for k, v in self.params.items()}
        return cls(self.msgid, field=self.field, **params)

    @classmethod
    def of(cls, error: ComplaintFormsError) -> Notice:
        """A library error's message, kept as a notice."""
        return cls(error.msgid, field=error.field, **error.params)


def notice(item: Any) -> str:
    """A notice (or a text of the same kind from another layer, kept as it is), a library
    error, or a plain text (shown as it is), as a text with its `render`."""
    if isinstance(item, str) and _renders(item):
        return item
    if isinstance(item, ComplaintFormsError):
        return Notice.of(item)
    return Notice(str(item))


def joined(items: Iterable[Any]) -> str:
    """Several messages as one, separated by "; " (each rendered in the same language)."""
    parts = [notice(item) for item in items]
    if not parts:
        return Notice("")
    out = parts[-1]
    for part in reversed(parts[:-1]):
        out = Notice(N_("{first}; {rest}"), first=part, rest=out)
    return out


def as_error(text: Any) -> Any:
    """A notice as a library error, to be the value of one (rendered in the same language);
    anything else as it is."""
    return text.as_error() if isinstance(text, Notice) else text
