"""No lock is held while a form renders (issue 11): a clerk registers while a batch of forms
renders, and numbering still never hands out a number twice."""

from __future__ import annotations

import threading
import time

from complaintforms.documents import pipeline  # where registrations render
from complaintforms.services.cases import register_case, render_forms
from complaintforms.workspace import Workspace

from .conftest import pdf_text
from .test_register import FULL_CASE


def test_a_registration_completes_while_a_batch_renders(ws, monkeypatch):
    for _ in range(3):
        register_case(ws, dict(FULL_CASE), render=False)
    gate, started = threading.Event(), threading.Event()
    real = pipeline.render_files

    def held(ws_, doc, formats, renderers=None):
        # The batch's renders wait at the gate: the batch is "rendering" for as long as the
        # test wants. Anything rendered by other threads goes through at once.
        if threading.current_thread().name == "batch":
            started.set()
            assert gate.wait(60)
        return real(ws_, doc, formats, renderers)

    monkeypatch.setattr(pipeline, "render_files", held)
    outcome: dict = {}

    def batch() -> None:
        outcome["batch"] = render_forms(
            ws, "record_card", None, formats=("pdf",), workers=1, by="吴芳"
        )

    worker = threading.Thread(target=batch, name="batch")
    worker.start()
    try:
        assert started.wait(60)
        clerk = Workspace.open(ws.root)  # another clerk: a store of their own on the records
        desk = threading.Thread(
            target=lambda: outcome.update(case=register_case(clerk, dict(FULL_CASE)))
        )
        desk.start()
        desk.join(30)
        assert not desk.is_alive(), "the registration waited for the batch's lock"
        assert outcome["case"]["case_no"] == "TS-2026-000004"
        # FULL_CASE is major: its report is rendered with the card, outside the lock too.
        assert {d["form"] for d in outcome["case"]["documents"]} == {"record_card", "major_report"}
    finally:
        gate.set()
        worker.join(120)
    assert len(outcome["batch"]) == 3  # the batch stored its three cards afterwards
    numbers = [c["case_no"] for c in ws.store.iter_records()]
    assert numbers == [f"TS-2026-{n:06d}" for n in range(1, 5)]
    owners: dict[int, set] = {}
    for c in ws.store.iter_records():
        for d in c["documents"]:
            owners.setdefault(d["serial"], set()).add((c["case_no"], d["form"]))
    # four cards and the major case's report, no serial twice
    assert len(owners) == 5 and all(len(o) == 1 for o in owners.values())
    assert ws.store.verify_audit() == []


def _ordinary(n: int) -> dict:
    return {**FULL_CASE, "severity": "一般", "content": f"第 {n} 位来电：维修后仍有异响。"}


def test_registrations_of_one_process_render_at_once_and_store_in_order(ws, monkeypatch):
    """The web server's threads: four registrations arrive together. Each renders its card
    with a number of its own at the same time as the others (the barrier would time out if
    they took turns), and they are stored gapless, each card carrying its case's number."""
    real = pipeline.render_files
    together = threading.Barrier(4, timeout=60)

    def rendering(ws_, doc, formats, renderers=None):
        together.wait()
        return real(ws_, doc, formats, renderers)

    monkeypatch.setattr(pipeline, "render_files", rendering)
    made: list[dict] = []
    errors: list[BaseException] = []

    def clerk(n: int) -> None:
        try:
            made.append(register_case(Workspace.open(ws.root), _ordinary(n)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    stored = list(ws.store.iter_records())
    assert [c["case_no"] for c in stored] == [f"TS-2026-{n:06d}" for n in range(1, 5)]
    serials = sorted(d["serial"] for c in stored for d in c["documents"] if d["format"] == "pdf")
    assert serials == [1, 2, 3, 4]
    for case in stored:
        pdf = next(d for d in case["documents"] if d["format"] == "pdf")
        text = pdf_text(ws.root / pdf["path"])
        assert case["case_no"] in text and case["content"][:6] in text
    assert ws.store.verify_audit() == []


def test_a_registration_that_fails_while_others_render_leaves_no_gap(ws, monkeypatch):
    """The second of three refused while all render: the third had rendered with the number
    after the second's, so it renders again with the one left free."""
    from complaintforms.errors import RenderError

    real = pipeline.render_files
    together = threading.Barrier(3, timeout=60)
    first_round: set[str] = set()

    def rendering(ws_, doc, formats, renderers=None):
        name = threading.current_thread().name
        if name not in first_round:
            first_round.add(name)
            together.wait()
            if name == "clerk-1":
                raise RenderError("refused for the test")
        return real(ws_, doc, formats, renderers)

    monkeypatch.setattr(pipeline, "render_files", rendering)
    outcome: dict[str, object] = {}

    def clerk(n: int) -> None:
        try:
            outcome[f"clerk-{n}"] = register_case(Workspace.open(ws.root), _ordinary(n))["case_no"]
        except RenderError as exc:
            outcome[f"clerk-{n}"] = exc

    threads = [threading.Thread(target=clerk, args=(n,), name=f"clerk-{n}") for n in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)  # in this order: clerk-1 is ahead of clerk-2
    for t in threads:
        t.join(120)
    assert isinstance(outcome["clerk-1"], RenderError)
    assert sorted([outcome["clerk-0"], outcome["clerk-2"]]) == ["TS-2026-000001", "TS-2026-000002"]
    stored = {c["case_no"]: c for c in ws.store.iter_records()}
    assert sorted(stored) == ["TS-2026-000001", "TS-2026-000002"]
    for case_no, case in stored.items():
        pdf = next(d for d in case["documents"] if d["format"] == "pdf")
        assert case_no in pdf_text(ws.root / pdf["path"])
