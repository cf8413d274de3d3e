"""`demo`: a fresh workspace with sample complaints from several channels and their forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from complaintforms.documents.render import RendererSet
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.i18n import N_, _
from complaintforms.services import archive
from complaintforms.services.cases import register_case
from complaintforms.services.intake import intake
from complaintforms.services.messages import Notice
from complaintforms.services.opinions import add_opinion, render_register
from complaintforms.services.procedure import signoff_cases
from complaintforms.services.reports import build_report
from complaintforms.workspace import Workspace, init_workspace


def sample_cases(now: dt.datetime) -> list[dict]:
    def ago(hours: float) -> str:
        return iso(now - dt.timedelta(hours=hours))

    return [
        {
            "kind": "complaint",
            "channel": "phone",
            "received_at": ago(74),
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
            "received_at": ago(50),
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
            "received_at": ago(26),
            "complainant": {"name": "周先生", "address": "宁波市海曙区中山西路 1 号"},
            "target": {"type": "department", "department": "FIN"},
            "category": "收费争议",
            "severity": "major",
            "content": "结算单中多收取检测费 380 元，且发票抬头有误。已拍照留存 😠。",
            "demand": "退还多收费用，重开发票。",
        },
    ]


def _latest_pdf(ws: Workspace, case_no: str, form: str) -> Path:
    docs = [
        d for d in ws.store.get(case_no)["documents"] if d["form"] == form and d["format"] == "pdf"
    ]
    return ws.local_path(docs[-1]["path"])


def simulate_scans(ws: Workspace, folder: Path, *, rude: str, idea: str, brakes: str) -> None:
    """What a scanner would deliver: a slightly skewed, speckled PNG of one slip, and a stack
    (a blank sheet, a slip scanned sideways, a signed receipt stub) as one image-only PDF."""
    import random

    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    def page(path: Path, angle: float) -> Image.Image:
        pdf = pdfium.PdfDocument(str(path))
        try:
            image = pdf[0].render(scale=200 / 72, grayscale=True).to_pil()
        finally:
            pdf.close()
        image = image.rotate(angle, expand=True, fillcolor=255).filter(
            ImageFilter.GaussianBlur(0.8)
        )
        px, rnd = image.load(), random.Random(angle)
        for _speck in range(4000):
            px[rnd.randrange(image.width), rnd.randrange(image.height)] = rnd.choice((0, 255))
        return image

    page(_latest_pdf(ws, rude, "feedback_slip"), 2).save(folder / "scan-0001.png")
    blank = Image.new("L", (1654, 2339), 250)
    sheets = [
        blank,
        page(_latest_pdf(ws, idea, "feedback_slip"), 90),
        page(_latest_pdf(ws, brakes, "contact_letter"), -1.5),
    ]
    sheets[0].convert("RGB").save(
        folder / "scan-0002.pdf",
        format="PDF",
        save_all=True,
        append_images=[s.convert("RGB") for s in sheets[1:]],
        resolution=200,
    )


@dataclass
class Demo:
    """The demo's workspace and what its scenes leave for the ones after them."""

    ws: Workspace
    now: dt.datetime
    progress: Callable[[str], None] | None
    cases: dict[str, str] = field(default_factory=dict)  # scene name -> case number
    outputs: dict = field(default_factory=dict)
    clerk: str = "吴芳"
    tech: str = "李明"
    manager: str = "赵敏"

    def ago(self, hours: float) -> str:
        return iso(self.now - dt.timedelta(hours=hours))

    def say(self, msgid: str, **params: object) -> None:
        """A line of progress, in the user's language."""
        if self.progress:
            self.progress(Notice(msgid, **params).render(_))


DONE = {
    "findings": "核实属实",
    "cause": "作业疏忽",
    "responsible": "张伟",
    "plan": "免费返修并致歉",
    "approved_by": "王强",
    "result": "已返修，客户试车确认",
    "customer_signed": True,
}


def register_samples(d: Demo) -> None:
    renderers = RendererSet(d.ws.forms_dir)
    for name, data in zip(SAMPLE_NAMES, sample_cases(d.now), strict=True):
        case = register_case(d.ws, data, by=d.clerk, renderers=renderers)
        d.cases[name] = case["case_no"]
        d.say(N_("registered {case_no}"), case_no=case["case_no"])


def reopened_complaint(d: Demo) -> None:
    """Handled, called back dissatisfied, reopened, handled again and closed."""
    from complaintforms.services import procedure as p

    ws, no = d.ws, d.cases["brakes"]
    p.accept_case(
        ws, no, by=d.clerk, at=d.ago(73), department="SVC", handler=d.tech, category="维修质量"
    )
    p.issue_slip(ws, no, by=d.clerk)
    p.issue_letter(ws, no, by=d.clerk)
    p.return_slip(ws, no, by=d.tech, at=d.ago(60), **DONE)
    p.callback_case(
        ws, no, by=d.clerk, at=d.ago(50), satisfaction="dissatisfied", note="仍有轻微异响"
    )
    p.reopen_case(ws, no, by=d.clerk, at=d.ago(49), reason="回访不满意，仍有异响")
    p.issue_slip(ws, no, by=d.clerk)
    again = {**DONE, "findings": "复查发现卡钳松动", "result": "已紧固，异响消除"}
    p.return_slip(ws, no, by=d.tech, at=d.ago(30), **again)
    p.callback_case(ws, no, by=d.clerk, at=d.ago(20), satisfaction="satisfied")
    p.close_case(
        ws,
        no,
        by=d.manager,
        at=d.ago(10),
        summary="两次返修后解决",
        cause="作业疏忽",
        measures="增加刹车作业复检环节",
        penalty="warning",
        penalty_person="张伟",
        validity="valid",
    )
    d.say(N_("{case_no}: accepted, slip and letter issued, returned, reopened, closed"), case_no=no)


def confidential_complaint(d: Demo) -> None:
    """About a staff member, now with the sales department; the complainant masked."""
    from complaintforms.services import procedure as p

    no = d.cases["rude"]
    p.accept_case(d.ws, no, by=d.clerk, at=d.ago(4), department="SAL", severity="general")
    p.issue_slip(d.ws, no, by=d.clerk)
    p.issue_letter(d.ws, no, by=d.clerk)
    d.say(N_("{case_no}: accepted; slip and letter issued with the complainant masked"), case_no=no)


def first_week(d: Demo) -> None:
    """What a real office meets: a phone number corrected (the record card again), the
    deadline extended with the manager's approval, a penalty recorded before closing, and a
    duplicate registration voided."""
    from complaintforms.services import corrections as c
    from complaintforms.services import procedure as p

    no = d.cases["rude"]
    c.amend_case(
        d.ws, no, {"complainant.phone": "0571-87654322"}, by=d.clerk, reason="电话号码记错一位"
    )
    p.extend_case(
        d.ws, no, by=d.clerk, days=2, reason="需与销售顾问当面核实", approved_by=d.manager
    )
    c.penalize_case(d.ws, no, by=d.manager, kind="warning", person="孙丽", note="服务态度冷淡")
    duplicate = register_case(d.ws, sample_cases(d.now)[1], by=d.clerk)["case_no"]
    c.void_case(d.ws, duplicate, by=d.clerk, reason="同一来访重复登记")
    d.cases["duplicate"] = duplicate
    d.say(
        N_("{case_no}: corrected, extended and a penalty recorded; {duplicate} void"),
        case_no=no,
        duplicate=duplicate,
    )


def supervised_complaint(d: Demo) -> None:
    """A complaint two weeks old still with its department: the morning's supervision
    notice (督办通知书), as of the last working day."""
    from complaintforms.services import procedure as p
    from complaintforms.services.cases import work_calendar
    from complaintforms.services.supervision import supervise

    late = {
        **sample_cases(d.now)[0],
        "received_at": d.ago(24 * 14),
        "content": "两周前反映的空调异味问题至今无人处理。",
    }
    no = register_case(d.ws, late, by=d.clerk)["case_no"]
    p.accept_case(d.ws, no, by=d.clerk, at=d.ago(24 * 14 - 1), department="SVC")
    d.cases["late"] = no
    cal, day = work_calendar(d.ws), d.now.date()
    while not cal.is_workday(day):
        day -= dt.timedelta(days=1)
    # And one due on that day: its department gets a reminder (催办通知书).
    received = day - dt.timedelta(days=1)
    while cal.add_workdays(received, d.ws.config.deadlines["complaint"]) > day:
        received -= dt.timedelta(days=1)
    due_today = {
        **sample_cases(d.now)[0],
        "received_at": f"{received.isoformat()}T09:00:00+08:00",
        "content": "预约的保养被临时取消，希望尽快重新安排。",
        "target": {"type": "department", "department": "SAL"},
    }
    soon = register_case(d.ws, due_today, by=d.clerk)["case_no"]
    p.accept_case(
        d.ws, soon, by=d.clerk, at=f"{received.isoformat()}T10:00:00+08:00", department="SAL"
    )
    d.cases["soon"] = soon
    d.outputs["supervision"] = supervise(d.ws, as_of=day.isoformat(), by=d.manager)
    d.say(N_("{case_no}: overdue; supervision notice issued"), case_no=no)


def answered_inquiry(d: Demo) -> None:
    """Answered the next working day and closed."""
    from complaintforms.services import procedure as p

    no = d.cases["inquiry"]
    p.accept_case(d.ws, no, by=d.clerk, at=d.ago(49), department="CSC")
    p.return_slip(
        d.ws,
        no,
        by=d.clerk,
        at=d.ago(40),
        findings="套餐条款允许转让",
        plan="电话告知办理方式",
        approved_by=d.manager,
        result="已电话答复",
        customer_signed=False,
        cause=None,
        responsible=None,
    )
    p.callback_case(d.ws, no, by=d.clerk, at=d.ago(30), satisfaction="basically_satisfied")
    p.close_case(d.ws, no, by=d.manager, at=d.ago(29), summary="已答复")
    d.say(N_("{case_no}: inquiry answered and closed"), case_no=no)


def routed_suggestion(d: Demo) -> None:
    """From the opinion book, with the service department."""
    from complaintforms.services import procedure as p

    no = d.cases["idea"]
    p.accept_case(d.ws, no, by=d.clerk, at=d.ago(29), department="SVC")
    p.issue_slip(d.ws, no, by=d.clerk)
    d.say(N_("{case_no}: suggestion routed"), case_no=no)


def rejected_complaint(d: Demo) -> None:
    """Not accepted: a courteous reply letter."""
    from complaintforms.services import procedure as p

    no = d.cases["fees"]
    p.reject_case(
        d.ws,
        no,
        by=d.clerk,
        at=d.ago(25),
        validity="invalid",
        reason="检测费为您签字确认的维修项目，收费符合公示标准；发票抬头已按您提供的信息重新开具。",
    )
    d.say(N_("{case_no}: not accepted; reply letter written"), case_no=no)


def scans_come_back(d: Demo) -> None:
    """The paper comes back: the scanner's output, simulated from the forms just printed."""
    scanner = d.ws.root / "scanner"
    scanner.mkdir()
    simulate_scans(
        d.ws, scanner, rude=d.cases["rude"], idea=d.cases["idea"], brakes=d.cases["brakes"]
    )
    report = intake(d.ws, [scanner], by=d.clerk)
    d.outputs["scans"] = report.as_dict()
    d.say(
        N_("scans: {matched} matched, {unmatched} kept unmatched"),
        matched=len(report.matched),
        unmatched=len(report.unmatched),
    )


def signoff_and_archive(d: Demo) -> None:
    """The manager signs off the closed cases; they are sealed into bundles and verified."""
    signoff_cases(d.ws, [d.cases["brakes"], d.cases["inquiry"]], by=d.manager)
    built = archive.build(d.ws, quarter=_quarter(), by="档案员")
    d.outputs["built"] = built
    d.outputs["verified"] = archive.verify(d.ws)["verified"]
    d.say(N_("archive: {bundles} bundles sealed and verified"), bundles=len(built.bundles))


def register_and_report(d: Demo) -> None:
    """The month's opinion register and the quarter's statistics report."""
    add_opinion(
        d.ws,
        {
            "content": "大厅休息区空调温度偏低，建议调高。",
            "kind": "suggestion",
            "name": "王女士",
            "phone": "13700001234",
            "handling": "已请行政部调高温度",
            "reply_at": d.ago(1),
            "reply_how": "当面",
            "at": d.ago(3),
        },
        by=d.clerk,
    )
    t = clock_now()
    d.outputs["register"] = render_register(d.ws, f"{t.year}-{t.month:02d}", by=d.clerk)
    d.outputs["report"] = build_report(d.ws, _quarter(), by=d.clerk)
    d.say(
        N_("register: {entries} entries; report {quarter}: {total} cases"),
        entries=d.outputs["register"]["entries"],
        quarter=_quarter(),
        total=d.outputs["report"]["total"],
    )


def _quarter() -> str:
    t = clock_now()
    return f"{t.year}Q{(t.month - 1) // 3 + 1}"


# The names the scenes know the samples by, in the order of sample_cases.
SAMPLE_NAMES = ("brakes", "rude", "inquiry", "idea", "fees")
SCENES = (
    register_samples,
    reopened_complaint,
    confidential_complaint,
    first_week,
    supervised_complaint,
    answered_inquiry,
    routed_suggestion,
    rejected_complaint,
    scans_come_back,
    signoff_and_archive,
    register_and_report,
)


def run_demo(target: Path, progress: Callable[[str], None] | None = None) -> dict:
    """Register the samples and take them through the procedure, scene by scene: one closed
    after a reopen, one inquiry answered and closed, one rejected with a reply letter, two
    still with their departments (one of them confidential); then the scans, the archive,
    the register and the report. Returns where every output is."""
    ws = Workspace.open(init_workspace(target).root)
    demo = Demo(ws, clock_now(), progress)
    for scene in SCENES:
        scene(demo)
    return summary(demo)


def summary(d: Demo) -> dict:
    ws, built = d.ws, d.outputs["built"]
    cases = [ws.store.get(n) for n in d.cases.values()]
    return {
        "register": [str(ws.local_path(x["path"])) for x in d.outputs["register"]["documents"]],
        "report": [str(ws.local_path(f["path"])) for f in d.outputs["report"]["files"]],
        "scans": d.outputs["scans"],
        "bundles": [str(ws.local_path(b["bundle"])) for b in built.bundles],
        "transfer_list": [str(ws.local_path(x["path"])) for x in built.transfer_list],
        "verified": d.outputs["verified"],
        "workspace": str(ws.root),
        "config": str(ws.config_path),
        "cases": [
            {
                "case_no": c["case_no"],
                "status": c["status"],
                "channel": c["channel"],
                "target": c["target"]["type"],
                "documents": [str(ws.local_path(x["path"])) for x in c["documents"]],
                "scans": [str(ws.local_path(a["path"])) for a in c["attachments"]],
                "forms": sorted({x["form"] for x in c["documents"]}),
            }
            for c in cases
        ],
        "records": ws.store.location,
    }
