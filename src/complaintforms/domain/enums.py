"""Enumerations: stored as English codes, shown with Chinese labels; input accepts either."""

from __future__ import annotations

from typing import Any

from complaintforms.errors import ValidationError
from complaintforms.i18n import N_

ENUMS: dict[str, dict[str, str]] = {
    "kind": {"inquiry": "咨询", "suggestion": "建议", "complaint": "投诉"},
    "channel": {
        "phone": "来电",
        "letter": "来信",
        "visit": "来访",
        "email": "电子邮件",
        "web": "网站留言",
        "wechat": "微信",
        "opinion_book": "意见簿",
    },
    "target_type": {"company": "对公司", "department": "对部门", "staff": "对业务代表"},
    "severity": {"general": "一般", "major": "重大"},
    "validity": {"valid": "有效", "invalid": "无效", "malicious": "恶意"},
    "satisfaction": {
        "satisfied": "满意",
        "basically_satisfied": "基本满意",
        "dissatisfied": "不满意",
    },
    "status": {
        "registered": "已登记",
        "rejected": "不受理",
        "assigned": "已分派",
        "resolved": "已处理",
        "followed_up": "已回访",
        "closed": "已结案",
        "signed_off": "已审核",
        "archived": "已归档",
        "void": "已作废",
    },
    "penalty": {"warning": "警告", "minor_demerit": "小过", "major_demerit": "大过"},
    "opinion_kind": {"opinion": "意见", "praise": "表扬", "suggestion": "建议"},
}


def table(name: str, config: Any = None) -> dict[str, str]:
    """The codes and labels of an enumeration, with those the workspace's `config` adds
    (channels, penalty kinds)."""
    extra = config.enum_additions(name) if config is not None else None
    return {**ENUMS[name], **extra} if extra else ENUMS[name]


def parse_enum(name: str, value: object, field: str | None = None, config: Any = None) -> str:
    """Return the code for `value`, given as a code or a Chinese label."""
    table_ = table(name, config)
    text = str(value).strip() if value is not None else ""
    if text in table_:
        return text
    for code, label_ in table_.items():
        if text == label_:
            return code
    allowed = ", ".join(f"{code} ({label_})" for code, label_ in table_.items())
    raise ValidationError(
        N_("{field}: unknown value {value}; expected one of {allowed}"),
        field=field or name,
        value=repr(text),
        allowed=allowed,
    )


def label(name: str, code: str | None, config: Any = None) -> str:
    """The Chinese label for a code ('' for None)."""
    if code is None:
        return ""
    return table(name, config).get(code, code)
