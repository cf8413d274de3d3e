"""The library API for cases: each function is what one CLI command calls.

The CLI parses options and prints; these functions validate, store, render and log.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from complaintforms.domain import model, periods, workflow
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.domain.workdays import WorkCalendar, calendar_from
from complaintforms.errors import ValidationError
from complaintforms.i18n import N_
from complaintforms.storage.base import MAX_TRIES, Conflict
from complaintforms.workspace import Workspace

if TYPE_CHECKING:  # the rendering stack is imported where a document is made
    from complaintforms.documents.render import RendererSet

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
@dataclass
class _Turn:
    counter: str
    seq: int
    serials: list[int]


class _Turns:
    """The registrations of this process (the web server's threads) between taking their
    numbers and storing: each renders its card with the numbers after those taken by the
    ones ahead of it, all render at once, and they store in that order. Without it, two
    registrations that overlap predict the same number and one renders again."""

    _of: dict[str, _Turns] = {}
    _of_lock = threading.Lock()

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.queue: list[_Turn] = []

    @classmethod
    def of(cls, ws: Workspace) -> _Turns:
        with cls._of_lock:
            return cls._of.setdefault(ws.store.location, cls())

    def take(self, ws: Workspace, counter: str, count: int, reserved: list[int] | None) -> _Turn:
        """The next number of `counter` and the next `count` document serials (or the
        `reserved` ones), after the store's and those of the registrations ahead."""
        with self.cond:
            seq = max(
                [ws.store.counter_values().get(counter, 0)]
                + [t.seq for t in self.queue if t.counter == counter]
            )
            if reserved is None:
                first = max(
                    [ws.store.document_serial()] + [max(t.serials, default=0) for t in self.queue]
                )
                serials = list(range(first + 1, first + 1 + count))
            else:
                serials = reserved
            turn = _Turn(counter, seq + 1, serials)
            self.queue.append(turn)
            return turn

    def wait_for(self, turn: _Turn) -> None:
        """Until the registrations ahead have stored (or given up)."""
        with self.cond:
            while self.queue[0] is not turn:
                self.cond.wait()

    def leave(self, turn: _Turn) -> None:
        with self.cond:
            if turn in self.queue:
                self.queue.remove(turn)
            self.cond.notify_all()


def register_case(
    ws: Workspace,
    data: dict,
    *,
    by: str | None = None,
    render: bool = True,
    renderers: RendererSet | None = None,
) -> dict:
    """Register a complaint (登记): validate, number, write the record card (and for a
    major case its 重大投诉呈报单), log."""
    from complaintforms.documents.pipeline import (
        Serials,
        prepare,
        render_files,
        store_files,
    )
    from complaintforms.documents.render import RendererSet

    config = ws.config
    if by and not data.get("recorded_by"):
        data = {**data, "recorded_by": by}
    now = clock_now()
    case = model.parse_registration(data, config, now=now)
    case["repeat_of"] = repeat_cases(ws, case)
    counter = seq_counter(case)
    issues: list[tuple[str, Callable[[dict], dict] | None]] = [("record_card", None)]
    if case["severity"] == "major":
        from complaintforms.services.escalation import major_form

        issues.append(major_form(ws, by=case["recorded_by"]))

    def documents(numbered: dict, serial_values: list[int]) -> list[tuple]:
        return [
            (doc, render_files(ws, doc, RECORD_CARD_FORMATS, renderers))
            for doc in (
                prepare(
                    ws,
                    numbered,
                    form,
                    serial=serial,
                    at=iso(now),
                    extra=make(numbered) if make else None,
                )
                for (form, make), serial in zip(issues, serial_values, strict=True)
            )
        ]

    if render:
        renderers = renderers or RendererSet(ws.forms_dir)
        ws.identity  # noqa: B018 - made before anything else
        # The card carries the number, which is only taken when the case is stored: render
        # it with the number the counter will give next (no lock held), and render again if
        # another registration (another process, or one ahead that failed) took or left
        # that number meanwhile. Numbers stay gapless. After a conflict the serials are
        # reserved first, so that a long batch cannot hold a registration off for ever.
        turns = _Turns.of(ws)
        for attempt in range(MAX_TRIES):
            serials = Serials(ws, len(issues) if attempt else 0, reserve=attempt > 0)
            turn = turns.take(ws, counter, len(issues), serials.values if attempt else None)
            try:
                numbered = {
                    **case,
                    "case_no": case_number(config.numbering_pattern, int(counter), turn.seq),
                }
                rendered = documents(numbered, turn.serials)
                serials.values = turn.serials
                turns.wait_for(turn)
                with ws.store.transaction() as txn:
                    if txn.current_seq(counter) + 1 != turn.seq:
                        raise Conflict  # the number was taken meanwhile
                    serials.claim(txn)
                    txn.next_seq(counter)
                    numbered["documents"] = [
                        e
                        for doc, files in rendered
                        for e in store_files(txn, doc, files, at=iso(now))
                    ]
                    _insert_new(txn, numbered, now)
            except Conflict:
                continue
            finally:
                turns.leave(turn)
            return view(ws, numbered)
    with ws.store.transaction() as txn:  # no card, or others kept taking the number
        case["case_no"] = case_number(config.numbering_pattern, int(counter), txn.next_seq(counter))
        if render:
            serial_values = [txn.next_doc_serial() for _ in issues]
            case["documents"] = [
                e
                for doc, files in documents(case, serial_values)
                for e in store_files(txn, doc, files, at=iso(now))
            ]
        _insert_new(txn, case, now)
    return view(ws, case)


# -- repeat complaints (重复投诉, DESIGN.md section 12) ------------------------------------------------
def _same_text(a: object, b: object) -> bool:
    """Two names or addresses as a clerk would compare them: full-width as half-width,
    Latin letters in any case, spaces not counting."""
    import unicodedata

    def norm(value: object) -> str:
        text = unicodedata.normalize("NFKC", str(value or "")).casefold()
        return "".join(text.split())

    return bool(norm(a)) and norm(a) == norm(b)


def repeat_cases(ws: Workspace, case: dict) -> list[str]:
    """The earlier cases of the same complainant: the same phone number however written,
    or the same name and address, received no later than `case` and at most
    `repeat_window_days` days before it; void cases are no one's. Newest first. Asked of
    the store's lookup index (a few cases), not of every month."""
    from complaintforms.domain.timeutil import from_iso
    from complaintforms.storage.base import phone_digits

    comp = case["complainant"]
    digits = phone_digits(comp.get("phone"))
    name, address = comp.get("name"), comp.get("address")
    received = from_iso(case["received_at"])
    earliest = received.date() - dt.timedelta(days=ws.config.repeat_window_days)
    # Only the months of the window are read (a common name is in most months). Months are
    # as stored: Beijing time, which received_at carries.
    months = periods.months_between(earliest.isoformat()[:7], case["received_at"][:7])
    found: dict[str, dict] = {}
    if digits:
        for other in ws.store.find_cases(phone=comp["phone"], months=months):
            if phone_digits((other.get("complainant") or {}).get("phone")) == digits:
                found[other["case_no"]] = other
    if name and address and not comp.get("anonymous"):
        for other in ws.store.find_cases(name=name, months=months):
            theirs = other.get("complainant") or {}
            if _same_text(theirs.get("name"), name) and _same_text(theirs.get("address"), address):
                found[other["case_no"]] = other
    earlier = []
    for other in found.values():
        if other.get("status") == "void" or other["case_no"] == case.get("case_no"):
            continue
        when = from_iso(other["received_at"])
        if when <= received and when.date() >= earliest:
            earlier.append((when, other["case_no"]))
    return [case_no for _, case_no in sorted(earlier, reverse=True)]


def _insert_new(txn, case: dict, now: dt.datetime) -> None:
    txn.insert(case)
    txn.log("case.new", case["recorded_by"], case["case_no"], at=iso(now), after=case)


# -- reading ----------------------------------------------------------------------------------------
def view(
    ws: Workspace, case: dict, today: dt.date | None = None, cal: WorkCalendar | None = None
) -> dict:
    """The case as shown: the stored record plus the computed `overdue` (its result, or
    once resolved its call-back, past due)."""
    today = today or clock_now().date()
    cal = cal or work_calendar(ws)
    deadlines = ws.config.deadlines
    due = workflow.effective_due(case, deadlines, cal)
    callback_by = workflow.callback_due(case, deadlines, cal)
    return {**case, "overdue": workflow.is_overdue(case, today, due, callback_by)}


def show_case(ws: Workspace, case_no: str) -> dict:
    return view(ws, ws.store.get(case_no))


def quarter_months(quarter: str) -> list[str]:
    """A quarter in any form a clerk types (2026Q4, 2026年第四季度): its three months."""
    return periods.quarter_months(quarter, "quarter")


# The texts `case list --text` looks in: a customer retells the complaint, or what they were told.
TEXT_FIELDS = (
    ("content",),
    ("demand",),
    ("handling", "findings"),
    ("handling", "result"),
    ("closure", "summary"),
)


@dataclass
class CaseFilter:
    """Which cases a listing shows; every filter given must hold (AND).

    `phone`: the whole number however written (138 1234 5678, +86 13812345678) or its last
    4 or more digits; `name`: a part of the complainant's name; `month`: received that month
    (2026-11, 2026年11月); `category`: a configured category; `text`: a part of the content,
    demand, findings, result or closing summary (an earlier round's too), Latin letters in
    any case. Confidential and anonymous complainants are found like any other: this is the
    centre's own lookup."""

    status: str | None = None
    department: str | None = None
    quarter: str | None = None
    overdue: bool = False
    phone: str | None = None
    name: str | None = None
    month: str | None = None
    category: str | None = None
    text: str | None = None
    months: list[str] | None = field(default=None, init=False)

    def prepare(self, ws: Workspace) -> CaseFilter:
        from complaintforms.domain.enums import parse_enum
        from complaintforms.storage.base import MIN_PHONE_DIGITS, phone_digits

        if self.status:
            self.status = parse_enum("status", self.status, "status")
        if self.department:
            self.department = model.department_code(ws.config, self.department, "department")
        self.months = quarter_months(self.quarter) if self.quarter else None
        if self.month:
            self.month = periods.parse_month(self.month, "month")
            self.months = [m for m in (self.months or [self.month]) if m == self.month]
        if self.phone is not None:
            phone = model.text(self.phone, "phone", required=True, limit=40)
            if len(phone_digits(phone)) < MIN_PHONE_DIGITS:
                raise ValidationError(
                    N_(
                        "{field}: {value}: give the whole number or at least its last "
                        "{digits} digits"
                    ),
                    field="phone",
                    value=repr(phone),
                    digits=MIN_PHONE_DIGITS,
                )
            self.phone = phone
        if self.name is not None:
            self.name = model.text(self.name, "name", required=True, limit=model.MAX_NAME)
        if self.category is not None:
            self.category = model.category(ws.config, self.category) or None
            if self.category is None:
                raise ValidationError(N_("{field}: required"), field="category")
        if self.text is not None:
            self.text = model.text(self.text, "text", required=True)
        return self

    def matches(self, case: dict) -> bool:
        from complaintforms.storage.base import lookup_matches

        if self.status and case["status"] != self.status:
            return False
        if self.department and self.department not in (
            case["assignment"].get("department"),
            case["target"].get("department"),
        ):
            return False
        if self.months is not None and case["received_at"][:7] not in self.months:
            return False
        if self.category and case.get("category") != self.category:
            return False
        if (self.phone or self.name) and not lookup_matches(case, self.phone, self.name):
            return False
        return not self.text or _contains(case, self.text)


def _contains(case: dict, text: str) -> bool:
    wanted = text.casefold()
    rounds = [case, *(r for r in case.get("reopens") or [] if isinstance(r, dict))]
    for record in rounds:
        for path in TEXT_FIELDS:
            value: object = record
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, str) and wanted in value.casefold():
                return True
    return False


def iter_cases(ws: Workspace, flt: CaseFilter | None = None) -> Iterator[dict]:
    """The cases a filter lets through, oldest month first, each as shown (with `overdue`).
    A lookup by phone or name asks the store's lookup index for its few cases instead of
    reading every month."""
    from complaintforms.domain.workflow import OVERDUE_STATUSES

    flt = (flt or CaseFilter()).prepare(ws)
    cal, today = work_calendar(ws), clock_now().date()
    wanted = [flt.status] if flt.status else []
    if flt.overdue and not wanted:
        wanted = list(OVERDUE_STATUSES)
    if flt.phone or flt.name:
        found = ws.store.find_cases(phone=flt.phone, name=flt.name)
    else:
        found = ws.store.iter_records(months=flt.months, statuses=wanted or None)
    for case in found:
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
    from complaintforms.documents.pipeline import (
        RenderPool,
        prepare,
        render_files,
        reserve_serials,
        store_files,
    )
    from complaintforms.documents.render import RendererSet

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
