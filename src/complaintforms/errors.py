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


def N_(message: str) -> str:  # the marker of complaintforms.i18n, which imports nothing here
    return message


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
        return render_message(self.msgid, self.field, self.params, translate, field_name)


def render_message(
    msgid: str,
    field: str | None,
    params: dict[str, Any],
    translate: Callable[[str], str] | None = None,
    field_name: Callable[[str], str] | None = None,
) -> str:
    """One message in the user's language; values that render themselves (a nested error or
    notice) are rendered in the same language. A translation that does not fit its values
    falls back to the English text rather than hide the message."""
    values = {
        k: v.render(translate, field_name) if callable(getattr(v, "render", None)) else v
        for k, v in params.items()
    }
    if not values and field is None:
        return translate(msgid) if translate else msgid
    shown_field = (field_name or str)(field) if field else ""
    for template in ([translate(msgid)] if translate else []) + [msgid]:
        try:
            return template.format(field=shown_field, **values)
        except (KeyError, IndexError, ValueError, AttributeError):
            continue
    return msgid


class Notice(str):
    """A text for the user that is returned rather than raised (a step's warning, why a
    scanned page was kept unmatched, a problem of a bundle, a doctor finding): the English
    text itself (it goes as it is into JSON, notes and the audit log, and compares equal to
    it), which also carries its message id, field and values, so that an interface shows it
    in the user's language as it shows an error: `notice.render(_, field_flag)`."""

    msgid: str
    field: str | None
    params: dict[str, Any]

    def __new__(cls, msgid: str, *, field: str | None = None, **params: Any) -> Notice:
        self = super().__new__(cls, render_message(msgid, field, params))
        self.msgid, self.field, self.params = msgid, field, params
        return self

    def __reduce__(self):
        return (_restore_notice, (type(self), self.msgid, self.field, self.params))

    def render(
        self,
        translate: Callable[[str], str] | None = None,
        field_name: Callable[[str], str] | None = None,
    ) -> str:
        return render_message(self.msgid, self.field, self.params, translate, field_name)


def _restore_notice(cls: type[Notice], msgid: str, field: str | None, params: dict) -> Notice:
    return cls(msgid, field=field, **params)


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


class AuthError(ComplaintFormsError):
    """A sign-in refused: unknown user, wrong password, disabled, or locked for a while."""


class ForbiddenError(ComplaintFormsError):
    """A step or page this user's role (or department) may not take or see."""


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
        super().__init__(N_("{where}: {reason}"), where=where, reason=inner)

    def render(
        self,
        translate: Callable[[str], str] | None = None,
        field_name: Callable[[str], str] | None = None,
    ) -> str:
        # Inside an imported record a field is a key of the record, not an option.
        return super().render(translate, None)
