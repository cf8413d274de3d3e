"""`demo`: a fresh workspace with sample complaints from several channels and their forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from .cases import register_case
from .documents import RendererSet
from .timeutil import iso
from .timeutil import now as clock_now
from .workspace import Workspace, init_workspace


def sample_cases(now: dt.datetime) -> list[dict]:
    def ago(hours: float) -> str:
        return iso(now - dt.timedelta(hours=hours))

    return [
        {
            "kind": "complaint",
            "channel": "phone",
            "received_at": ago(2),
            "complainant": {
                "name": "王小明",
                "phone": "13812345678",
                "address": "杭州市拱墅区湖墅南路 8 号",
            },
            "target": {"type": "department", "department": "SVC"},
            "category": "维修质量",
            "content": "上周在贵店更换刹车片后，行驶中仍有异响，两次返厂均未解决。",
            "demand": "免费彻底检修，并书面说明原因。",
            "extra": {"plate": "浙A·12345"},
        },
        {
            "kind": "complaint",
            "channel": "visit",
            "received_at": ago(5),
            "complainant": {
                "name": "李 & 赵 <合伙人>",
                "phone": "0571-87654321",
                "confidential": True,
            },
            "target": {"type": "staff", "staff": "孙丽"},
            "category": "服务态度",
            "content": "销售顾问孙丽在交车时态度冷淡，承诺的脚垫和贴膜未兑现。\n当场要求说明，无人理会。",
            "demand": "兑现承诺并道歉。",
        },
        {
            "kind": "inquiry",
            "channel": "wechat",
            "received_at": ago(26),
            "complainant": {"name": "陈喆", "phone": "13900001111"},
            "target": {"type": "company"},
            "category": "其他",
            "content": "请问保养套餐能否转让给家人使用？",
            "demand": "请回复。",
        },
        {
            "kind": "suggestion",
            "channel": "opinion_book",
            "received_at": ago(30),
            "complainant": {"name": "吉𠮷堃"},
            "target": {"type": "company"},
            "content": "休息区能否增加儿童游乐角？周末带孩子来保养很不方便。",
        },
        {
            "kind": "complaint",
            "channel": "letter",
            "received_at": ago(50),
            "complainant": {"name": "周先生", "address": "宁波市海曙区中山西路 1 号"},
            "target": {"type": "department", "department": "FIN"},
            "category": "收费争议",
            "severity": "major",
            "content": "结算单中多收取检测费 380 元，且发票抬头有误。已拍照留存 😠。",
            "demand": "退还多收费用，重开发票。",
        },
    ]


def run_demo(target: Path, progress: Callable[[str], None] | None = None) -> dict:
    ws = init_workspace(target)
    ws = Workspace.open(ws.root)
    renderers = RendererSet(ws.forms_dir)
    cases = []
    for data in sample_cases(clock_now()):
        case = register_case(ws, data, by="吴芳", renderers=renderers)
        cases.append(case)
        if progress:
            progress(case["case_no"])
    return {
        "workspace": str(ws.root),
        "config": str(ws.config_path),
        "cases": [
            {
                "case_no": c["case_no"],
                "channel": c["channel"],
                "target": c["target"]["type"],
                "documents": [str(ws.root / d["path"]) for d in c["documents"]],
            }
            for c in cases
        ],
        "records": str(ws.records_dir),
    }
