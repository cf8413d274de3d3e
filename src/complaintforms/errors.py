"""The library's own exceptions: typed, with the field they are about and a message id.

An error carries a message id (the English text, a `str.format` template marked with `N_`),
the field it is about (`department`, `complainant.phone`; never a command-line flag) and the
values to fill in. Each interface renders it its own way (`render`): the command line names
the field by its flag (--department), the web interface puts the message beside the field;
both in the user's language. `str(error)` is the English text with the field as it is.

    raise ValidationError(N_("{field}: unknown department {value}"), field="department",
                          value=repr(text))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ComplaintFormsError(Exception):
    """Base class: a refusal or failure the user can act on."""

    exit_code = 1

    def __init__(self, msgid: str, *, field: str | None = None, **params: Any):
        self.msgid = msgid
        self.field = field
        self.params = params
        super().__init__(self.render())

    def render(
        self,
        translate: Callable[[str], str] | None = None,
        field_name: Callable[[str], str] | None = None,
    ) -> str:
        """The message: `translate` maps the id to the user's language, `field_name` names
        the field as this interface shows it. A translation that does not fit its values
        falls back to the English text rather than hide the error."""
        field = (field_name or str)(self.field) if self.field else ""
        params = {
            k: v.render(translate, field_name) if isinstance(v, ComplaintFormsError) else v
            for k, v in self.params.items()
        }
        if not params and self.field is None:
            return translate(self.msgid) if translate else self.msgid
        for template in ([translate(self.msgid)] if translate else []) + [self.msgid]:
            try:
                return template.format(field=field, **params)
            except (KeyError, IndexError, ValueError, AttributeError):
                continue
        return self.msgid


class WorkspaceError(ComplaintFormsError):
    """The folder is not a workspace, or cannot become one."""


class ConfigError(ComplaintFormsError):
    """complaintforms.yaml is missing a key or holds a bad value."""


class ValidationError(ComplaintFormsError):
    """Input that the procedure does not accept."""


class NotFoundError(ComplaintFormsError):
    """No such case (or form, or file)."""


class StateError(ComplaintFormsError):
    """A step the procedure does not allow in the case's current state."""


class StorageError(ComplaintFormsError):
    """The records could not be read or written (lock timeout, damaged file)."""


class RenderError(ComplaintFormsError):
    """A form could not be rendered correctly (missing font, bad template, missing glyph)."""


class RecordError(ValidationError):
    """A record of an import failed validation; names the record. `reason` is the inner
    error (rendered in the same language) or a message id."""

    def __init__(self, where: str, reason: ComplaintFormsError | str, **params: Any):
        self.where = where
        self.reason = reason
        inner = (
            reason if isinstance(reason, ComplaintFormsError) else ValidationError(reason, **params)
        )
        super().__init__("{where}: {reason}", where=where, reason=inner)
