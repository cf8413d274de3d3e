"""CLI commands for the opinion register and the statistics reports."""

from __future__ import annotations

import click

from complaintforms.cli.base import CHANNELS, CFGroup, State, by_option, cli, emit, pass_state, tr
from complaintforms.cli.procedure import step_options


# -- the opinion register ---------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def opinion() -> None:
    """Entries of the opinion book (意见簿) that are not complaint cases."""


@opinion.command("add")
@click.option("--content", required=True, help="What the customer wrote or said (意见内容).")
@click.option("--kind", help="opinion|praise|suggestion (意见 表扬 建议); default opinion.")
@click.option("--channel", help=f"Default opinion_book. {CHANNELS}.")
@click.option("--name", help="Customer (optional).")
@click.option("--phone", help="Contact (printed masked).")
@click.option("--confidential", is_flag=True, help="Mask the name in the register.")
@click.option("--department", help="Department concerned (code or name).")
@click.option("--handling", help="How it was handled (处理情况).")
@click.option("--reply-at", metavar="TIME", help="When the customer was answered.")
@click.option("--reply-how", help="How (电话, 书面, 当面 ...).")
@step_options
@pass_state
def opinion_add(state: State, by: str, **data) -> None:
    """Enter an opinion, praise or suggestion with its handling and reply."""
    from complaintforms.services.opinions import add_opinion

    entry = add_opinion(state.ws, data, by=by)
    emit(state, entry, entry["id"])


@cli.group(cls=CFGroup)
def register() -> None:
    """The customer opinion register (顾客意见登记簿)."""


@register.command("render")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to list.")
@click.option("--department", help="Only this department's entries.")
@by_option("Who compiles it (编制).")
@pass_state
def register_render(state: State, month: str, department: str | None, by: str) -> None:
    """The month's register, cases and opinion entries, as PDF and docx for the branch head."""
    from complaintforms.services.opinions import render_register

    result = render_register(state.ws, month, department=department, by=by)
    lines = [tr("{n} entries", n=result["entries"])] + [
        f"  {state.ws.local_path(d['path'])}" for d in result["documents"]
    ]
    emit(state, result, "\n".join(lines))


# -- reports ----------------------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def report() -> None:
    """The monthly summary and the quarterly statistics report (季度投诉统计报告)."""


def _report(state: State, period: str, as_of: str | None, formats: str, by: str) -> None:
    from complaintforms.services.reports import build_report

    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    unknown = [f for f in fmts if f not in ("pdf", "docx", "html", "csv")]
    if unknown or not fmts:
        raise click.UsageError(
            tr("--format: pdf, docx, html, csv (not {formats})", formats=", ".join(unknown) or "-")
        )
    result = build_report(state.ws, period, as_of=as_of, by=by, formats=fmts)
    rate = result["on_time_rate"]
    lines = [
        tr(
            "{period}: {total} cases (previous {previous}, same period last year {last_year}); "
            "on time {rate}; {overdue} overdue open",
            period=result["period"],
            total=result["total"],
            previous=result["previous_period_total"],
            last_year=result["same_period_last_year_total"],
            rate="—" if rate is None else f"{rate:.1%}",
            overdue=result["overdue_open"],
        ),
    ] + [f"  {state.ws.local_path(f['path'])}" for f in result["files"]]
    emit(state, result, "\n".join(lines))


report_options = [
    click.option(
        "--as-of", metavar="DATE", help="Count overdue cases as of this date (default today)."
    ),
    click.option(
        "--format",
        "formats",
        default="pdf,docx,csv",
        show_default=True,
        help="pdf, docx, html, csv.",
    ),
    by_option("Who compiles it (编制)."),
]


def with_report_options(func):
    for option in reversed(report_options):
        func = option(func)
    return func


@report.command("monthly")
@click.argument("month", metavar="YYYY-MM")
@with_report_options
@pass_state
def report_monthly(state: State, month: str, as_of, formats, by) -> None:
    """The month's summary: every figure, with charts; --json prints the figures."""
    from complaintforms.domain.periods import parse_month

    _report(state, parse_month(month, "MONTH"), as_of, formats, by)


@report.command("quarterly")
@click.argument("quarter", metavar="YYYYQn")
@with_report_options
@pass_state
def report_quarterly(state: State, quarter: str, as_of, formats, by) -> None:
    """The quarterly statistics report: every figure, tables, charts; --json prints the figures."""
    from complaintforms.domain.periods import parse_quarter

    _report(state, parse_quarter(quarter, "QUARTER"), as_of, formats, by)
