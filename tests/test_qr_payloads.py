"""QR payloads are parsed strictly (issue 12): any text a sticker or a forger can print is a
code of ours or a reason, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaintforms.documents.qrcode import PREFIX, make_ref, parse_payload, verify
from complaintforms.errors import ComplaintFormsError, ValidationError


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.text(alphabet=st.characters(blacklist_characters="|")), min_size=6, max_size=6
        ).map(lambda parts: "|".join([PREFIX, *parts[1:]])),
    )
)
def test_any_text_is_a_code_or_a_reason(text):
    try:
        ref = parse_payload(text)
    except ValidationError:
        return
    assert ref.serial >= 0 and str(ref.serial).isascii()


@pytest.mark.parametrize("serial", ["²", "٣", "1²", "", "12a", "-1", " 1", "１２"])
def test_serials_are_ascii_digits_only(serial):
    with pytest.raises(ValidationError):
        parse_payload(f"{PREFIX}|ABCD1234|TS-2026-000001|feedback_slip|{serial}|0123ABCD")


def test_a_forged_check_is_refused(ws):
    ref = make_ref(ws, "TS-2026-000001", "feedback_slip", 7)
    assert parse_payload(ref.payload) == ref
    forged = ref.payload[:-1] + ("0" if ref.payload[-1] != "0" else "1")
    with pytest.raises(ComplaintFormsError):
        verify(ws, parse_payload(forged))
