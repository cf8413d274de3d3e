"""The QR code on every printed form: which workspace, case, form and document it is.

Payload: CF1|<workspace id>|<case no>|<form>|<serial>|<check>, where check is 8 hex chars
of an HMAC keyed by the workspace's secret, so a code typed up or copied from another
workspace does not match.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from complaintforms.errors import ValidationError
from complaintforms.i18n import N_

PREFIX = "CF1"


@dataclass(frozen=True)
class FormRef:
    workspace_id: str
    case_no: str
    form: str
    serial: int
    check: str

    @property
    def body(self) -> str:
        return f"{PREFIX}|{self.workspace_id}|{self.case_no}|{self.form}|{self.serial}"

    @property
    def payload(self) -> str:
        return f"{self.body}|{self.check}"


def make_ref(ws, case_no: str, form: str, serial: int) -> FormRef:
    body = f"{PREFIX}|{ws.workspace_id}|{case_no}|{form}|{serial}"
    return FormRef(ws.workspace_id, case_no, form, serial, ws.sign(body))


def parse_payload(text: str) -> FormRef:
    parts = text.strip().split("|")
    if len(parts) != 6 or parts[0] != PREFIX or not re.fullmatch(r"[0-9]+", parts[4]):
        raise ValidationError(N_("not a complaintforms code: {value}"), value=repr(text[:60]))
    return FormRef(parts[1], parts[2], parts[3], int(parts[4]), parts[5])


def verify(ws, ref: FormRef) -> None:
    """Raise ValidationError when the code is from another workspace or its check is wrong."""
    from complaintforms.workspace import constant_time_equal

    if ref.workspace_id != ws.workspace_id:
        raise ValidationError(
            N_("code from another workspace ({workspace})"), workspace=ref.workspace_id
        )
    if not constant_time_equal(ws.sign(ref.body), ref.check):
        raise ValidationError(N_("code check digits do not match (forged or damaged)"))


def svg_data_uri(payload: str) -> str:
    import segno

    return segno.make(payload, error="m").svg_data_uri(scale=4, border=2)


def png_bytes(payload: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(payload, error="m").save(buf, kind="png", scale=6, border=2)
    return buf.getvalue()
