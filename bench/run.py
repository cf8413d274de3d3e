"""Benchmarks for complaintforms (make bench). Never part of make test.

Builds its own workspaces under bench/out/, then prints one table: each figure, the target,
and the ratio target/measured (above 1 means within the target). Figures are medians of
several runs in this one process, since the machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
EXE = str(Path(sys.executable).parent / "complaintforms")
sys.path.insert(0, str(REPO / "src"))

CASE = {
    "kind": "complaint",
    "channel": "phone",
    "recorded_by": "吴芳",
    "complainant": {
        "name": "王小明",
        "phone": "13812345678",
        "address": "杭州市拱墅区湖墅南路 8 号",
    },
    "target": {"type": "department", "department": "SVC"},
    "category": "维修质量",
    "content": "更换刹车片后仍有异响，两次返厂均未解决。" * 3,
    "demand": "免费彻底检修。",
}


def timed(argv: list[str], runs: int = 5, stdin: str | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr}")
    return statistics.median(times)


def workspace(name: str, cases: int) -> Path:
    from complaintforms.workspace import init_workspace

    root = OUT / name
    shutil.rmtree(root, ignore_errors=True)
    init_workspace(root)
    if cases:
        ledger = [
            {
                **CASE,
                "received_at": f"{2020 + i // 4000}-{(i // 334) % 12 + 1:02d}-10T10:00:00+08:00",
                "content": f"历史投诉 {i}",
            }
            for i in range(cases)
        ]
        src = OUT / f"{name}.json"
        src.write_text(json.dumps(ledger, ensure_ascii=False), encoding="utf-8")
        subprocess.run(
            [EXE, "--workspace", str(root), "case", "import", str(src)],
            check=True,
            capture_output=True,
        )
    return root


def warm_pdf_seconds(root: Path, runs: int = 10) -> float:
    from complaintforms.cases import register_case
    from complaintforms.documents import RendererSet
    from complaintforms.forms import build_context, get_form
    from complaintforms.workspace import Workspace

    ws = Workspace.open(root)
    case = register_case(ws, dict(CASE), render=False)
    renderers = RendererSet(ws.forms_dir)
    spec = get_form("record_card", ws.config)
    ctx = build_context(
        spec,
        case,
        ws.config,
        qr="CF1|X|Y|record_card|1|0",
        serial=1,
        generated_at=case["recorded_at"],
    )
    renderer = renderers.get("pdf")
    renderer.to_bytes(spec, ctx)  # warm: fonts loaded, stylesheet parsed
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        renderer.to_bytes(spec, ctx)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rows: list[tuple[str, float, float]] = []
    case_json = json.dumps(CASE, ensure_ascii=False)

    rows.append(("complaintforms --help", timed([EXE, "--help"], runs=7), 0.3))
    small = workspace("small", 0)
    rows.append(
        (
            "case new, record card pdf+docx (empty store)",
            timed([EXE, "-w", str(small), "case", "new", "--from", "-"], stdin=case_json),
            1.0,
        )
    )
    rows.append(("record card PDF in a warm process", warm_pdf_seconds(small), 0.3))

    for n in (10_000,):
        big = workspace(f"n{n}", n)
        rows.append(
            (
                f"case new at {n:,} cases (with record card)",
                timed([EXE, "-w", str(big), "case", "new", "--from", "-"], stdin=case_json),
                0.5,
            )
        )
        store_only = (
            "import json,sys; from complaintforms.cases import register_case; "
            "from complaintforms.workspace import Workspace; "
            f"register_case(Workspace.open({str(big)!r}), json.loads(sys.stdin.read()), render=False)"
        )
        rows.append(
            (
                f"  of which storage (no card), at {n:,} cases",
                timed([sys.executable, "-c", store_only], stdin=case_json),
                0.5,
            )
        )
        rows.append(
            (
                f"case show at {n:,} cases",
                timed([EXE, "-w", str(big), "case", "show", "TS-2022-000100"]),
                0.5,
            )
        )
        rows.append(
            (
                f"case list --overdue at {n:,} cases",
                timed([EXE, "-w", str(big), "case", "list", "--overdue"], runs=3),
                float("nan"),
            )
        )

    print(f"complaintforms bench — {time.strftime('%Y-%m-%d')} — {os.cpu_count()} cores")
    print(f"{'figure':<48} {'measured':>9} {'target':>8} {'target/measured':>16}")
    for name, seconds, target in rows:
        ratio = "" if target != target else f"{target / seconds:.2f}x"
        shown_target = "-" if target != target else f"{target:.2f} s"
        print(f"{name:<48} {seconds:>7.3f} s {shown_target:>8} {ratio:>16}")


if __name__ == "__main__":
    main()
