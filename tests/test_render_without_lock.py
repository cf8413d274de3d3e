"""No lock is held while a form renders (issue 11): a clerk registers while a batch of forms
renders, and numbering still never hands out a number twice."""

from __future__ import annotations

import threading

from complaintforms.services import cases as cases_module
from complaintforms.services.cases import register_case, render_forms
from complaintforms.workspace import Workspace

from .test_register import FULL_CASE


def test_a_registration_completes_while_a_batch_renders(ws, monkeypatch):
    for _ in range(3):
        register_case(ws, dict(FULL_CASE), render=False)
    gate, started = threading.Event(), threading.Event()
    real = cases_module.render_files

    def held(ws_, doc, formats, renderers=None):
        # The batch's renders wait at the gate: the batch is "rendering" for as long as the
        # test wants. Anything rendered by other threads goes through at once.
        if threading.current_thread().name == "batch":
            started.set()
            assert gate.wait(60)
        return real(ws_, doc, formats, renderers)

    monkeypatch.setattr(cases_module, "render_files", held)
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
