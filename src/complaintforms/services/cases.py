"""The library API for cases: each function is what one CLI command calls.

The CLI parses options and prints; these functions validate, store, render and log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from complaintforms.documents.pipeline import (
    Serials,
    prepare,
    render_files,
    reserve_serials,
    store_files,
)
from complaintforms.documents.render import RendererSet
from complaintforms.domain import model, periods, workflow
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.domain.workdays import WorkCalendar, calendar_from
from complaintforms.errors import ValidationError
from complaintforms.i18n import N_
from complaintforms.storage.base import MAX_TRIES, Conflict
from complaintforms.workspace import Workspace

Progress = Callable[[int], None]

RECORD_CARD_FORMATS = ("pdf", "docx")


def work_calendar(ws: Workspace) -> WorkCalendar:
    return calendar_from(ws.config.extra_holidays, ws.config.extra_workdays)


# -- numbering --------------------------------------------------------------------------------
def case_number(pattern: str, year: int, seq: int) -> str:
    return pattern.format(year=year, seq=seq)


def number_regex(pattern: str) -> re.Pattern:
    """A regex that recognises numbers made by `pattern`, capturing year and seq."""
    out, pos = "", 0
    for m in re.finditer(r"{(\w+)(?::[^}]*)?}", pattern):
        out += re.escape(pattern[pos : m.start()])
        out += r"(?P<year>\d{4})" if m.group(1) == "year" else r"(?P<seq>\d+)"
        pos = m.end()
    out += re.escape(pattern[pos:])
    return re.compile(f"^{out}$")


def seq_counter(case: dict) -> str:
    """Numbering restarts each year: the counter is the year the case was received in."""
    return case["received_at"][:4]


# -- registration -------------------------------------------------------------------------------
def register_case(
    ws: Workspace,
    data: dict,
    *,
    by: str | None = None,
    render: bool = True,
    renderers: RendererSet | None = None,
) -> dict:
    """Register a complaint (登记): validate, number, write the record card, log."""
    config = ws.config
    if by and not data.get("recorded_by"):
        data = {**data, "recorded_by": by}
    now = clock_now()
    case = model.parse_registration(data, config, now=now)
    counter = seq_counter(case)
    if render:
        renderers = renderers or RendererSet(ws.forms_dir)
        ws.identity  # noqa: B018 - made before anything else
        # The card carries the number, which is only taken when the case is stored: render
        # it with the number the counter will give next (no lock held), and render again if
        # another registration took that number meanwhile. Numbers stay gapless.
        for attempt in range(MAX_TRIES):
            serials = Serials(ws, 0, reserve=attempt > 0)
            with ws.store.transaction() as txn:  # one look at the counters for both
                seq = txn.current_seq(counter) + 1
                serials.read(txn, 1)
            numbered = {**case, "case_no": case_number(config.numbering_pattern, int(counter), seq)}
            doc = prepare(ws, numbered, "record_card", serial=serials.values[0], at=iso(now))
            files = render_files(ws, doc, RECORD_CARD_FORMATS, renderers)
            try:
                with ws.store.transaction() as txn:
                    if txn.current_seq(counter) + 1 != seq:
                        raise Conflict  # the number was taken meanwhile
                    serials.claim(txn)
                    txn.next_seq(counter)
                    numbered["documents"] = store_files(txn, doc, files, at=iso(now))
                    _insert_new(txn, numbered, now)
            except Conflict:
                continue
            return view(ws, numbered)
    with ws.store.transaction() as txn:  # no card, or others kept taking the number
        case["case_no"] = case_number(config.numbering_pattern, int(counter), txn.next_seq(counter))
        if render:
            doc = prepare(ws, case, "record_card", serial=txn.next_doc_serial(), at=iso(now))
            files = render_files(ws, doc, RECORD_CARD_FORMATS, renderers)
            case["documents"] = store_files(txn, doc, files, at=iso(now))
        _insert_new(txn, case, now)
    return view(ws, case)


def _insert_new(txn, case: dict, now: dt.datetime) -> None:
    txn.insert(case)
    txn.log("case.new", case["recorded_by"], case["case_no"], at=iso(now), after=case)


# -- reading ----------------------------------------------------------------------------------------
def view(
    ws: Workspace, case: dict, today: dt.date | None = None, cal: WorkCalendar | None = None
) -> dict:
    """The case as shown: the stored record plus the computed `overdue`."""
    today = today or clock_now().date()
    due = workflow.effective_due(case, ws.config.deadlines, cal or work_calendar(ws))
    return {**case, "overdue": workflow.is_overdue(case, today, due)}


def show_case(ws: Workspace, case_no: str) -> dict:
    return view(ws, ws.store.get(case_no))


def quarter_months(quarter: str) -> list[str]:
    """A quarter in any form a clerk types (2026Q4, 2026年第四季度): its three months."""
    return periods.quarter_months(quarter, "quarter")


@dataclass
class CaseFilter:
    status: str | None = None
    department: str | None = None
    quarter: str | None = None
    overdue: bool = False
    months: list[str] | None = field(default=None, init=False)

    def prepare(self, ws: Workspace) -> CaseFilter:
        from complaintforms.domain.enums import parse_enum

        if self.status:
            self.status = parse_enum("status", self.status, "status")
        if self.department:
            self.department = model.department_code(ws.config, self.department, "department")
        if self.quarter:
            self.months = quarter_months(self.quarter)
        return self

    def matches(self, case: dict) -> bool:
        if self.status and case["status"] != self.status:
            return False
        if self.department and self.department not in (
            case["assignment"].get("department"),
            case["target"].get("department"),
        ):
            return False
        return True


def iter_cases(ws: Workspace, flt: CaseFilter | None = None) -> Iterator[dict]:
    from complaintforms.domain.workflow import OVERDUE_STATUSES

    flt = (flt or CaseFilter()).prepare(ws)
    cal, today = work_calendar(ws), clock_now().date()
    months = flt.months
    wanted = [flt.status] if flt.status else []
    if flt.overdue and not wanted:
        wanted = list(OVERDUE_STATUSES)
    for case in ws.store.iter_records(months=months, statuses=wanted or None):
        if not flt.matches(case):
            continue
        shown = view(ws, case, today, cal)
        if flt.overdue and not shown["overdue"]:
            continue
        yield shown


def list_cases(ws: Workspace, flt: CaseFilter | None = None) -> list[dict]:
    return list(iter_cases(ws, flt))


def case_history(ws: Workspace, case_no: str) -> list[dict]:
    return ws.store.history(case_no)


# -- forms ----------------------------------------------------------------------------------------
# Below this many documents a pool's start-up (about 1 s a worker) costs more than it saves.
POOL_THRESHOLD = 8


def render_forms(
    ws: Workspace,
    form: str,
    case_nos: Iterable[str] | None,
    *,
    formats: tuple[str, ...],
    status: str | None = None,
    by: str = "system",
    progress: Progress | None = None,
    workers: int | None = None,
    on_total: Callable[[int], None] | None = None,
) -> list[dict]:
    """(Re-)render a form for the named cases, or for all (optionally of one status).

    Many documents are spread over a pool of worker processes (`workers`, default one per
    core); the store is written by this process only, in batches, so a long run keeps what it
    finished if it is stopped and others can write between batches."""
    import os

    from complaintforms.documents.forms import get_form
    from complaintforms.documents.pipeline import RenderPool

    get_form(form, case_form=True)  # an unknown form fails before anything else
    sealed = (
        "signed_off",
        "archived",
    )  # re-rendering adds to `documents`: sealed cases stay as they are
    if case_nos is None:
        targets = [
            c["case_no"]
            for c in iter_cases(ws, CaseFilter(status=status))
            if c["status"] not in sealed
        ]
    else:
        targets = list(dict.fromkeys(case_nos))
        for case_no in targets:  # an unknown or sealed case fails before rendering starts
            if ws.store.get(case_no)["status"] in sealed:
                raise ValidationError(
                    N_("{case_no}: signed off; its forms are sealed"), case_no=case_no
                )
    if on_total:
        on_total(len(targets))
    workers = max(1, workers or os.cpu_count() or 1)
    ws.identity  # noqa: B018
    pool = (
        RenderPool(ws.forms_dir, workers)
        if workers > 1 and len(targets) >= POOL_THRESHOLD
        else None
    )
    renderers = RendererSet(ws.forms_dir)
    rendered: list[dict] = []
    batch = 25 * workers
    try:
        # Each batch is rendered from a snapshot with no lock held, then stored in one short
        # transaction: other clerks register and record steps while a year's forms render.
        for start in range(0, len(targets), batch):
            now = iso(clock_now())
            cases = ws.store.get_many(targets[start : start + batch])
            serials = reserve_serials(ws, len(cases))
            docs = [
                prepare(ws, case, form, serial=serial, at=now)
                for case, serial in zip(cases, serials, strict=True)
            ]
            futures = [pool.submit(doc, formats) if pool else None for doc in docs]
            files = [
                future.result() if future else render_files(ws, doc, formats, renderers)
                for doc, future in zip(docs, futures, strict=True)
            ]
            with ws.store.transaction() as txn:
                for doc, done in zip(docs, files, strict=True):
                    case = txn.get(doc.case["case_no"])
                    if case["status"] in sealed:  # signed off meanwhile by another process
                        raise ValidationError(
                            N_("{case_no}: signed off; its forms are sealed"),
                            case_no=case["case_no"],
                        )
                    entries = store_files(txn, doc, done, at=now)
                    txn.replace({**case, "documents": [*case["documents"], *entries]})
                    txn.log(
                        "form.render", by, case["case_no"], at=now, after={"documents": entries}
                    )
                    rendered.extend(entries)
            if progress:
                progress(len(docs))
    finally:
        if pool is not None:
            pool.__exit__(None, None, None)
    return rendered
