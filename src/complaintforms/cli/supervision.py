"""`supervise`: the reminder and supervision notices (催办 / 督办) of one day."""

from __future__ import annotations

import click

from complaintforms.cli.base import State, by_option, cli, emit, pass_state, shown, tr
from complaintforms.i18n import N_

LEVEL_TITLES = {
    "remind": N_("reminder notice (催办通知书)"),
    "supervise": N_("supervision notice (督办通知书)"),
}


@cli.command("supervise")
@click.option(
    "--as-of",
    metavar="DATE",
    help="The day to supervise as of (default today; not in the future).",
)
@by_option("Who issues the notices.")
@pass_state
def supervise(state: State, as_of: str | None, by: str) -> None:
    """Issue the day's reminder (催办) and supervision (督办) notices, one per department and
    level, and record them on the cases. Running it again on the same day adds nothing."""
    from complaintforms.services.supervision import supervise as run

    result = run(state.ws, as_of=as_of, by=by)
    lines = [shown(w) for w in result["warnings"]]
    if not result["workday"]:
        lines.append(tr("{day} is not a working day: no notices", day=result["as_of"]))
    elif not result["notices"]:
        lines.append(tr("{day}: nothing new to remind or supervise", day=result["as_of"]))
    for notice in result["notices"]:
        escalated = sum(1 for c in notice["cases"] if c["escalated"])
        line = tr(
            "{title} to {department}: {n} case(s)",
            title=tr(LEVEL_TITLES[notice["level"]]),
            department=notice["department_name"],
            n=len(notice["cases"]),
        )
        if escalated and notice["copied_to"]:
            line += tr(
                ", {n} escalated (copied to {leader})", n=escalated, leader=notice["copied_to"]
            )
        elif escalated:
            line += tr(", {n} escalated (no supervision.leader to copy to)", n=escalated)
        lines.append(line)
        lines += [f"  {state.ws.local_path(d['path'])}" for d in notice["documents"]]
    if result["notices"]:
        lines.append(
            tr("{n} case(s) reminded as of {day}", n=result["reminded"], day=result["as_of"])
        )
    emit(state, result, "\n".join(lines))
