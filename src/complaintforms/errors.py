"""The library's own exceptions. The CLI maps each to a one-line message and exit code 1."""


class ComplaintFormsError(Exception):
    """Base class: a refusal or failure the user can act on."""

    exit_code = 1


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
    """A record of an import failed validation; names the record."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
