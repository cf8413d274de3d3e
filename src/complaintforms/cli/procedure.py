"""CLI commands of the routing procedure: accept, reject, slips, letters, call-backs, sign-off."""

from __future__ import annotations

from pathlib import Path

import click

from complaintforms.cli.base import (
    CFGroup,
    State,
    by_option,
    case,
    cli,
    emit,
    pass_state,
    shown,
    tr,
)
from complaintforms.cli.display import label
from complaintforms.i18n import _


# -- the routing procedure ---------------------------------------------------------------------------------
def step_options(func):
    """--at and --by, which every step that records a paper event takes."""
    func = by_option()(func)
    func = click.option(
        "--at",
        metavar="TIME",
        help="When it happened on paper (default now; not in the future, not before the previous step).",
    )(func)
    return func


def report_step(state: State, result, headline: str) -> None:
    for warning in result.warnings:
        click.echo("complaintforms: " + tr("warning: {text}", text=shown(warning)), err=True)
    lines = [headline] + [f"  {state.ws.local_path(d['path'])}" for d in result.documents]
    emit(state, result.as_dict(), "\n".join(lines))


@case.command("accept")
@click.argument("case_no", metavar="CASE")
@click.option("--department", required=True, help="Responsible department (code or name).")
@click.option("--handler", help="Who handles it (default: the department's head).")
@click.option(
    "--special", is_flag=True, help="A special case: the longer deadline (deadlines.special)."
)
@click.option("--severity", help="general|major (一般 重大).")
@click.option("--category", help="Category from the config.")
@click.option("--validity", help="valid|invalid|malicious (有效 无效 恶意).")
@step_options
@pass_state
def case_accept(state: State, case_no: str, at, by, **options) -> None:
    """Accept a case (受理) and route it to a department; sets the due date in working days."""
    from complaintforms.services.procedure import accept_case

    result = accept_case(state.ws, case_no, at=at, by=by, **options)
    a = result.case["assignment"]
    report_step(
        state,
        result,
        tr(
            "{case_no} assigned to {department} ({handler}), due {due}",
            case_no=case_no,
            department=getattr(
                state.ws.config.department(a["department"]), "name", a["department"]
            ),
            handler=a["handler"],
            due=a["due"],
        ),
    )


@case.command("reject")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", required=True, help="Why it is not accepted; quoted in the reply letter.")
@click.option("--validity", help="valid|invalid|malicious (有效 无效 恶意).")
@step_options
@pass_state
def case_reject(state: State, case_no: str, at, by, reason, validity) -> None:
    """Do not accept a case (不受理); writes the reply letter to the complainant (pdf + docx)."""
    from complaintforms.services.procedure import reject_case

    result = reject_case(state.ws, case_no, at=at, by=by, reason=reason, validity=validity)
    report_step(state, result, tr("{case_no} rejected; reply letter:", case_no=case_no))


@case.command("callback")
@click.argument("case_no", metavar="CASE")
@click.option(
    "--satisfaction",
    help="satisfied|basically_satisfied|dissatisfied (满意 基本满意 不满意).",
)
@click.option(
    "--unreachable",
    is_flag=True,
    help="The call reached nobody (无法回访): no satisfaction; the case can be closed.",
)
@click.option("--note", help="What the complainant said.")
@step_options
@pass_state
def case_callback(state: State, case_no: str, at, by, satisfaction, unreachable, note) -> None:
    """Record the call back (回访) to the complainant."""
    from complaintforms.services.procedure import callback_case

    result = callback_case(
        state.ws,
        case_no,
        at=at,
        by=by,
        satisfaction=satisfaction,
        note=note,
        reached=not unreachable,
    )
    if unreachable:
        headline = tr("{case_no}: the call-back reached nobody (无法回访)", case_no=case_no)
    else:
        headline = tr(
            "{case_no} called back: {satisfaction}",
            case_no=case_no,
            satisfaction=label("satisfaction", result.case["callback"]["satisfaction"]),
        )
    report_step(state, result, headline)


def parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    """--set FIELD=VALUE, as often as needed; an empty VALUE clears the field."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                _("{value} is not FIELD=VALUE").format(value=repr(item)), param_hint="--set"
            )
        out[key.strip()] = value
    return out


@case.command("amend")
@click.argument("case_no", metavar="CASE")
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    metavar="FIELD=VALUE",
    help="A corrected registration field, e.g. complainant.phone=13812345678 (repeatable).",
)
@click.option("--reason", required=True, help="Why it is corrected (更正原因).")
@step_options
@pass_state
def case_amend(state: State, case_no: str, at, by, sets: tuple[str, ...], reason: str) -> None:
    """Correct a registration (更正); the record card is issued again."""
    from complaintforms.services.corrections import amend_case

    result = amend_case(state.ws, case_no, parse_sets(sets), at=at, by=by, reason=reason)
    report_step(state, result, tr("{case_no} corrected; record card:", case_no=case_no))


@case.command("void")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", required=True, help="Why the registration is void (a test, a duplicate).")
@step_options
@pass_state
def case_void(state: State, case_no: str, at, by, reason: str) -> None:
    """Void a registration made in error (作废), before it is handled."""
    from complaintforms.services.corrections import void_case

    result = void_case(state.ws, case_no, at=at, by=by, reason=reason)
    report_step(state, result, tr("{case_no} void (作废)", case_no=case_no))


@case.command("penalize")
@click.argument("case_no", metavar="CASE")
@click.option("--kind", required=True, help="A penalty kind of the config (警告 小过 大过 ...).")
@click.option("--person", required=True, help="Who is penalised.")
@click.option("--amount", help="The amount (default: the kind's amount in the config).")
@click.option("--note", help="Why, in a few words.")
@step_options
@pass_state
def case_penalize(state: State, case_no: str, at, by, kind, person, amount, note) -> None:
    """Record a penalty before closing (as many as needed: the person, the department head)."""
    from complaintforms.services.corrections import penalize_case

    result = penalize_case(
        state.ws, case_no, at=at, by=by, kind=kind, person=person, amount=amount, note=note
    )
    record = result.case["closure"]["penalties"][-1]
    report_step(
        state,
        result,
        tr(
            "{case_no}: {kind} for {person}",
            case_no=case_no,
            kind=label("penalty", record["type"], state.ws.config),
            person=record["person"],
        ),
    )


@case.command("extend")
@click.argument("case_no", metavar="CASE")
@click.option("--days", help="Working days added to the due date in force.")
@click.option("--to", "to", metavar="DATE", help="The new due date (instead of --days).")
@click.option("--reason", required=True, help="Why it cannot be finished in time.")
@click.option("--approved-by", required=True, help="The manager who approved the extension.")
@click.option("--notified-at", metavar="TIME", help="When the complainant was told.")
@step_options
@pass_state
def case_extend(state: State, case_no: str, at, by, days, to, reason, approved_by, notified_at):
    """Extend a case's due date (延期), approved by a manager, before it has passed."""
    from complaintforms.services.procedure import extend_case

    result = extend_case(
        state.ws,
        case_no,
        at=at,
        by=by,
        days=days,
        to=to,
        reason=reason,
        approved_by=approved_by,
        notified_at=notified_at,
    )
    last = result.case["extensions"][-1]
    report_step(
        state,
        result,
        tr(
            "{case_no} extended: due {due} (was {before})",
            case_no=case_no,
            due=last["to"],
            before=last["from"],
        ),
    )


@case.command("send-back")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", required=True, help="Why the case is not this department's (退单原因).")
@step_options
@pass_state
def case_send_back(state: State, case_no: str, at, by, reason: str) -> None:
    """Send a misrouted case back (退单) before handling it; it is routed again."""
    from complaintforms.services.procedure import send_back_case

    result = send_back_case(state.ws, case_no, at=at, by=by, reason=reason)
    report_step(state, result, tr("{case_no} sent back for routing (退单)", case_no=case_no))


@case.command("reopen")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", required=True, help="Why the case goes back to its department.")
@step_options
@pass_state
def case_reopen(state: State, case_no: str, at, by, reason) -> None:
    """Reopen a followed-up or closed case: back to its department with a new due date."""
    from complaintforms.services.procedure import reopen_case

    result = reopen_case(state.ws, case_no, at=at, by=by, reason=reason)
    report_step(
        state,
        result,
        tr("{case_no} reopened, due {due}", case_no=case_no, due=result.case["assignment"]["due"]),
    )


@case.command("close")
@click.argument("case_no", metavar="CASE")
@click.option("--summary", required=True, help="How the case was settled (结案意见).")
@click.option("--cause", help="The cause found.")
@click.option("--measures", help="Improvement measures (改进措施).")
@click.option(
    "--penalty",
    help="warning|minor_demerit|major_demerit (警告 小过 大过); amount from the config.",
)
@click.option("--penalty-person", help="Who is penalised.")
@click.option("--validity", help="valid|invalid|malicious (有效 无效 恶意).")
@step_options
@pass_state
def case_close(state: State, case_no: str, at, by, **options) -> None:
    """Close a case after its call back (结案); writes the closing form (投诉处理结案单)."""
    from complaintforms.services.procedure import close_case

    result = close_case(state.ws, case_no, at=at, by=by, **options)
    report_step(state, result, tr("{case_no} closed; closing form:", case_no=case_no))


@case.command("signoff")
@click.argument("case_nos", nargs=-1, metavar="CASE...")
@click.option(
    "--quarter", metavar="YYYYQn", help="Every case closed in this quarter (the quarterly review)."
)
@step_options
@pass_state
def case_signoff(state: State, case_nos: tuple[str, ...], quarter: str | None, at, by) -> None:
    """The manager signs off closed cases (审核); signed-off cases can no longer be changed."""
    from complaintforms.services.procedure import signoff_cases

    if bool(case_nos) == bool(quarter):
        raise click.UsageError("give case numbers or --quarter (not both)")
    signed = signoff_cases(state.ws, list(case_nos) or None, quarter=quarter, by=by, at=at)
    emit(
        state,
        signed,
        tr(
            "signed off {n} case(s): {cases}",
            n=len(signed),
            cases=", ".join(c["case_no"] for c in signed),
        ),
    )


@case.command("hold")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", help="Why it must be kept (dispute, audit, litigation).")
@click.option("--release", is_flag=True, help="Lift the hold.")
@by_option("Who puts or lifts the hold.")
@pass_state
def case_hold(state: State, case_no: str, reason: str | None, release: bool, by: str) -> None:
    """Keep a case's archive bundle past its retention period (never purged while held)."""
    from complaintforms.services.archive import set_hold

    result = set_hold(state.ws, case_no, by=by, reason=reason, release=release)
    emit(state, result, case_no + ": " + (_("hold lifted") if release else _("under hold")))


@cli.group(cls=CFGroup)
def slip() -> None:
    """The handling feedback slip (三来处理反馈单): issue it, record its return."""


@slip.command("issue")
@click.argument("case_no", metavar="CASE")
@by_option("Who issues it.")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx, html.")
@pass_state
def slip_issue(state: State, case_no: str, by: str, formats: str) -> None:
    """Issue the feedback slip for the responsible department (pdf + docx)."""
    from complaintforms.documents.pipeline import parse_formats
    from complaintforms.services.procedure import issue_slip

    result = issue_slip(state.ws, case_no, by=by, formats=parse_formats(formats))
    report_step(state, result, tr("{case_no} feedback slip:", case_no=case_no))


@slip.command("return")
@click.argument("case_no", metavar="CASE")
@click.option("--findings", required=True, help="调查情况.")
@click.option("--cause", help="原因分析.")
@click.option("--responsible", help="责任人.")
@click.option("--plan", required=True, help="处理方案.")
@click.option(
    "--approved-by", required=True, help="The supervisor who approved the plan (主管批示)."
)
@click.option("--approved-at", metavar="TIME", help="When the supervisor approved it.")
@click.option("--notified-at", metavar="TIME", help="When the customer was told.")
@click.option("--result", "result_text", required=True, help="处理结果.")
@click.option(
    "--customer-signed/--no-customer-signed",
    default=None,
    help="Did the complainant sign the slip (投诉人签字确认)?",
)
@click.option("--compensation", metavar="AMOUNT", help="Compensation paid (赔偿, 元).")
@click.option(
    "--scan",
    type=click.Path(dir_okay=False),
    help="The scanned returned slip (PDF or image) to attach.",
)
@click.option(
    "--no-code",
    is_flag=True,
    help="Attach the scan although it carries no QR code (a copy without one).",
)
@step_options
@pass_state
def slip_return(
    state: State, case_no: str, at, by, result_text, customer_signed, scan, **options
) -> None:
    """Record what the returned slip says; the case is resolved."""
    from complaintforms.services.procedure import return_slip

    if customer_signed is None:
        raise click.UsageError(
            "say whether the complainant signed: --customer-signed or --no-customer-signed"
        )
    result = return_slip(
        state.ws,
        case_no,
        at=at,
        by=by,
        result=result_text,
        customer_signed=customer_signed,
        scan=Path(scan) if scan else None,
        **options,
    )
    report_step(state, result, tr("{case_no} resolved", case_no=case_no))


@cli.group(cls=CFGroup)
def letter() -> None:
    """The work contact letter (工作联系函) with its receipt stub."""


@letter.command("issue")
@click.argument("case_no", metavar="CASE")
@click.option("--to", help="Receiving department (default: the responsible one).")
@by_option("Who sends it (发函人).")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx, html.")
@pass_state
def letter_issue(state: State, case_no: str, to: str | None, by: str, formats: str) -> None:
    """Issue the work contact letter, in duplicate with its 签收回执 (pdf + docx)."""
    from complaintforms.documents.pipeline import parse_formats
    from complaintforms.services.procedure import issue_letter

    result = issue_letter(state.ws, case_no, by=by, to=to, formats=parse_formats(formats))
    report_step(state, result, tr("{case_no} work contact letter:", case_no=case_no))
