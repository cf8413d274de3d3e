"""Configurable lists (issue 13, DESIGN.md section 13): channels added to the built-in ones,
every key of `penalties:` a kind `--penalty` accepts, unknown settings refused."""

from __future__ import annotations

import json

from .conftest import pdf_text
from .test_register import FULL_CASE


def configure(ws, addition: str, *, replace: tuple[str, str] | None = None) -> None:
    text = ws.config_path.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    ws.config_path.write_text(text + "\n" + addition + "\n", encoding="utf-8")


def test_a_configured_channel_is_accepted_by_code_and_label_and_printed(cf, ws):
    configure(ws, "channels: [{code: fax, label: 传真}]")
    out = cf.json("case", "new", "--from", "-", input=json.dumps({**FULL_CASE, "channel": "传真"}))
    assert out["channel"] == "fax"
    card = ws.root / next(d["path"] for d in out["documents"] if d["format"] == "pdf")
    assert "传真" in pdf_text(card)
    assert "传真" in cf("case", "show", out["case_no"], env={"COMPLAINTFORMS_LANG": "zh-CN"}).stdout
    again = cf.json("case", "new", "--from", "-", input=json.dumps({**FULL_CASE, "channel": "fax"}))
    assert again["channel"] == "fax"


def test_an_unconfigured_channel_is_refused_naming_the_known_ones(cf, ws):
    result = cf("case", "new", "--from", "-", input=json.dumps({**FULL_CASE, "channel": "传真"}))
    assert result.exit_code == 1
    assert "'传真'" in result.stderr and "opinion_book" in result.stderr


def test_a_penalty_kind_named_by_its_label_is_accepted_with_its_amount(cf, ws):
    configure(
        ws,
        "",
        replace=(
            "penalties: {warning: 400, minor_demerit: 800, major_demerit: 当月效益奖金全额}",
            "penalties:\n  warning: 400\n  minor_demerit: 800\n  major_demerit: 当月效益奖金全额\n"
            "  扣绩效分: 15\n  performance_points: {label: 扣考核分, unit: 分, amount: 5}\n",
        ),
    )
    from complaintforms.workspace import Workspace

    kinds = Workspace.open(ws.root).config.penalty_kinds
    assert kinds["扣绩效分"].amount == 15 and kinds["扣绩效分"].label == "扣绩效分"
    assert kinds["performance_points"].unit == "分" and kinds["warning"].amount == 400


def test_the_close_accepts_a_configured_penalty_kind(cf, ws):
    configure(
        ws,
        "",
        replace=(
            "major_demerit: 当月效益奖金全额}",
            "major_demerit: 当月效益奖金全额, 扣绩效分: 15}",
        ),
    )
    from .test_paper import accept, register

    case_no = register(cf)
    accept(cf, case_no)
    cf.json(
        "slip", "return", case_no, "--findings", "属实", "--plan", "返修", "--approved-by", "王强",
        "--result", "已返修", "--customer-signed", "--by", "李明",
    )  # fmt: skip
    cf.json("case", "callback", case_no, "--satisfaction", "满意", "--by", "吴芳")
    closed = cf.json(
        "case", "close", case_no, "--summary", "完毕", "--penalty", "扣绩效分",
        "--penalty-person", "张伟", "--by", "赵敏",
    )  # fmt: skip
    assert closed["case"]["closure"]["penalty"] == {
        "type": "扣绩效分",
        "person": "张伟",
        "amount": 15,
    }
