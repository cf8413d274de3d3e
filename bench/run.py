"""Benchmarks for complaintforms (make bench). Never part of make test.

Builds its own workspaces under bench/out/, then prints one table: each figure, the target,
and the ratio target/measured (above 1 means within the target). Figures are medians of
several runs in this one process, since the machine is shared and noisy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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


# Render servers started by the bench live here and are stopped at the end.
RUN_DIR = OUT / "run"
os.environ["COMPLAINTFORMS_RUN_DIR"] = str(RUN_DIR)
# The operator of every command the bench runs (commands without --by take it from here).
os.environ.setdefault("COMPLAINTFORMS_USER", "bench")
# Each command in a process of its own, as before the command server: a row that measures
# commands through a warm one (launch.py) says so and uses WARM.
os.environ.setdefault("COMPLAINTFORMS_COMMAND_SERVER", "0")
NO_SERVER = {**os.environ, "COMPLAINTFORMS_RENDER_SERVER": "0"}
WARM = {**NO_SERVER, "COMPLAINTFORMS_COMMAND_SERVER": "1"}


def timed(
    argv: list[str], runs: int = 5, stdin: str | None = None, env: dict | None = None
) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr}")
    return statistics.median(times)


FIRST = dt.date(2019, 1, 10)
SPAN = (dt.date(2026, 10, 31) - FIRST).days


def closed_case(received: dt.date) -> dict:
    def at(days: int, hour: int = 10) -> str:
        return f"{received + dt.timedelta(days=days)}T{hour:02d}:00:00+08:00"

    return {
        **CASE,
        "received_at": at(0),
        "decision": {"accepted": True, "by": "吴芳", "at": at(0, 11)},
        "assignment": {"department": "SVC"},
        "handling": {
            "findings": "属实",
            "plan": "返修",
            "approved_by": "王强",
            "result": "已返修",
            "customer_signed": True,
            "resolved_at": at(5, 16),
        },
        "callback": {"at": at(6), "by": "吴芳", "satisfaction": "满意"},
        "closure": {"at": at(7), "by": "赵敏", "summary": "完成"},
    }


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "小明 建国 丽华 海燕 志强 秀英 伟 芳 磊 静 军 敏 洋 艳 勇 杰 娟 涛 霞 超".split()


def caller(i: int) -> dict:
    """The complainant of the bench's i-th case: a number of its own (as a customer calling
    about "my complaint last week" gives it), names shared by some hundreds of cases."""
    return {"name": SURNAMES[i % 20] + GIVEN[i // 20 % 20], "phone": f"139{i:08d}"}


def open_assigned(i: int, received: dt.date) -> dict:
    """An open case accepted and routed on the day it came in, to one of three departments
    (its due date counted from receipt, as `case accept` does): what supervise works on."""
    department, handler = [("SVC", "李明"), ("SAL", "孙丽"), ("FIN", "周杰")][i % 3]
    return {
        **CASE,
        "received_at": f"{received}T10:00:00+08:00",
        "decision": {"accepted": True, "by": "吴芳", "at": f"{received}T11:00:00+08:00"},
        "assignment": {"department": department, "handler": handler},
    }


def ledger_case(i: int, cases: int, *, assigned: bool, keeps_up: bool) -> dict:
    """The i-th of `cases` import records (see workspace)."""
    received = FIRST + dt.timedelta(days=i * SPAN // cases)
    late = received < dt.date.today() - dt.timedelta(days=21) and i % 20
    if received < dt.date.today() - dt.timedelta(days=60) or (keeps_up and late):
        case = closed_case(received)
    elif assigned:
        case = open_assigned(i, received)
    else:
        case = {**CASE, "received_at": f"{received}T10:00:00+08:00"}
    case["content"] = f"历史投诉 {i}"
    case["complainant"] = {**CASE["complainant"], **caller(i)}
    return case


def workspace(name: str, cases: int, *, assigned: bool = False, keeps_up: bool = False) -> Path:
    """`cases` cases; those still open are registered only, or with `assigned` accepted
    and routed (open_assigned). With `keeps_up`, of the last 60 days' cases only those of
    the last three weeks (within their time limit or just past it) and one in twenty of
    the older ones are still open: an office that keeps up, not one with a backlog."""
    from complaintforms.workspace import init_workspace

    root = OUT / name
    shutil.rmtree(root, ignore_errors=True)
    init_workspace(root)
    if cases:
        # Spread evenly over 2019-01 .. 2026-10, whatever the count; as in an office that
        # keeps up, what was received before the last 60 days is closed, the rest still open.
        ledger = [ledger_case(i, cases, assigned=assigned, keeps_up=keeps_up) for i in range(cases)]
        src = OUT / f"{name}.json"
        src.write_text(json.dumps(ledger, ensure_ascii=False), encoding="utf-8")
        subprocess.run(
            [EXE, "--workspace", str(root), "case", "import", str(src)],
            check=True,
            capture_output=True,
        )
    return root


def warm_server(root: Path, case_json: str) -> None:
    """Render one card so that a render server starts for `root`, and wait until it listens."""
    from complaintforms.documents import server as renderd
    from complaintforms.workspace import Workspace

    ws = Workspace.open(root)
    subprocess.run(
        [EXE, "-w", str(root), "case", "new", "--from", "-"],
        input=case_json,
        capture_output=True,
        text=True,
        check=True,
    )
    deadline = time.monotonic() + 60
    while renderd.status(ws.forms_dir, ws.config.font_sans) is None:
        if time.monotonic() > deadline:
            raise SystemExit("the render server did not start")
        time.sleep(0.2)


def stop_servers() -> None:
    import signal

    for info in RUN_DIR.glob("*.json"):
        try:
            os.kill(json.loads(info.read_text())["pid"], signal.SIGTERM)
        except (OSError, ValueError, KeyError):
            pass
    for lock in RUN_DIR.glob("command-*.sock.lock"):  # command servers: "pid served"
        try:
            os.kill(int(lock.read_text().split()[0]), signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            pass


def warm_timed(argv: list[str], runs: int = 5) -> float:
    """`timed`, through a warm command server: the first command starts it, the runs are
    timed once it answers (its status line in the lock file is written after it listens)."""
    subprocess.run(argv, capture_output=True, env=WARM)
    deadline = time.monotonic() + 30
    while not any(
        lock.read_text().strip() and Path(str(lock)[: -len(".lock")]).exists()
        for lock in RUN_DIR.glob("command-*.sock.lock")
    ):
        if time.monotonic() > deadline:
            raise SystemExit("the command server did not start")
        time.sleep(0.1)
    return timed(argv, runs=runs, env=WARM)


def warm_pdf_seconds(root: Path, runs: int = 10) -> float:
    from complaintforms.documents.forms import build_context, get_form
    from complaintforms.documents.render import RendererSet
    from complaintforms.services.cases import register_case
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


def scan_slips(root: Path, count: int = 10) -> list[tuple[str, object]]:
    """`count` real feedback slips of new accepted cases in `root`, rendered at 200 dpi,
    skewed and blurred as a scanner delivers them: (case_no, RGB image)."""
    import random

    import pypdfium2 as pdfium
    from PIL import ImageFilter

    from complaintforms.services.procedure import accept_case, issue_slip
    from complaintforms.workspace import Workspace

    ws = Workspace.open(root)
    slips = []
    for i in range(count):
        case_no = json.loads(
            subprocess.run(
                [EXE, "-w", str(root), "--json", "case", "new", "--from", "-"],
                input=json.dumps(CASE, ensure_ascii=False),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )["case_no"]
        accept_case(ws, case_no, by="bench", department="SVC")
        slip = issue_slip(ws, case_no, by="bench", formats=("pdf",))
        pdf = pdfium.PdfDocument(str(ws.root / slip.documents[0]["path"]))
        image = pdf[0].render(scale=200 / 72, grayscale=True).to_pil()
        pdf.close()
        image = image.rotate(random.Random(i).uniform(-3, 3), expand=True, fillcolor=255).filter(
            ImageFilter.GaussianBlur(0.8)
        )
        slips.append((case_no, image.convert("RGB")))
    return slips


def scan_stack(root: Path, pages: int = 100) -> Path:
    """A 100-page image-only PDF at 200 dpi: real slips, skewed and speckled, as a scanner
    would deliver a stack."""
    images = [image for _, image in scan_slips(root, 10)]
    sheets = [images[i % 10] for i in range(pages)]
    path = OUT / "stack-100.pdf"
    sheets[0].save(path, format="PDF", save_all=True, append_images=sheets[1:], resolution=200)
    return path


def scan_intake_rate() -> tuple[str, float, float]:
    root = workspace("scans", 0)
    stack = scan_stack(root)
    start = time.perf_counter()
    out = subprocess.run(
        [EXE, "-w", str(root), "--json", "scan", "intake", str(stack)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    report = json.loads(out.stdout)
    # Ten slips, each scanned ten times: the first copy of each is attached, the other 90 are
    # recognised as rescans by their document serial (issue 13) after the same reading.
    assert len(report["matched"]) == 10 and len(report["rescans"]) == 90, report
    # Reported as seconds per page so that the ratio reads like the others (target 0.25 s = 4 pages/s).
    print(
        f"scan intake: 100 pages in {seconds:.1f} s = {100 / seconds:.1f} pages/s", file=sys.stderr
    )
    return ("scan intake, 100-page 200 dpi stack (s/page)", seconds / 100, 0.25)


# Files of the kind that once took scan intake past 6 GB or 300 s (issue 12), as the tests
# build them: each must now be refused or downscaled, and kept unmatched.
HOSTILE_FILES = (
    "page-14400pt.pdf",  # one 14400 x 14400 pt page in a few hundred bytes: was 51 s, 6.5 GB
    "blank-3000-pages.pdf",  # was past 300 s
    "bomb-20000px.png",  # 20000 x 20000 pixels in 76 KB: was a DecompressionBombError
    "mediabox-300000pt.pdf",  # was a MemoryError
    # Not from the issue: the largest page still read (4768 pt, 2A0's long side, on both
    # sides), rendered at the pixel limit instead of 200 dpi: what a page may cost.
    "page-4768pt.pdf",
)


def hostile_intake() -> list[tuple[str, float, float]]:
    """One `scan intake` of a folder holding the hostile files and three good slips (two
    PNG, one image-only PDF): its time and peak memory, the slips matched and the rest kept."""
    from PIL import Image

    sys.path.insert(0, str(REPO))
    from tests.test_intake_hostile import raw_pdf

    root = workspace("hostile", 0)
    folder = OUT / "hostile-scans"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    slips = scan_slips(root, 3)
    for i, (_, image) in enumerate(slips):
        if i == 2:
            image.save(folder / f"slip-{i + 1}.pdf", format="PDF", resolution=200)
        else:
            image.save(folder / f"slip-{i + 1}.png")
    (folder / HOSTILE_FILES[0]).write_bytes(raw_pdf(1, 14400))
    (folder / HOSTILE_FILES[1]).write_bytes(raw_pdf(3000))
    Image.new("1", (20000, 20000), 1).save(folder / HOSTILE_FILES[2], optimize=True)
    (folder / HOSTILE_FILES[3]).write_bytes(raw_pdf(1, 300_000))
    (folder / HOSTILE_FILES[4]).write_bytes(raw_pdf(1, 4768))
    stop_servers()  # nothing else running beside the intake
    out = OUT / "hostile-intake.json"
    seconds, mb = peak_rss_mb(
        [EXE, "-w", str(root), "--json", "scan", "intake", str(folder)],
        ok=(0, 1),  # 1: some files were not attached, which is the point
        stdout=out,
        high_water=True,
    )
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
    except ValueError:
        raise SystemExit(
            "scan intake of hostile files gave no report:\n"
            + out.with_suffix(".stderr").read_text(encoding="utf-8")
        ) from None
    assert sorted(m["case_no"] for m in report["matched"]) == sorted(c for c, _ in slips), report
    assert {m["source"] for m in report["matched"]}.isdisjoint(HOSTILE_FILES), report
    kept = {u["source"] for u in report["unmatched"] if u["path"]} | {
        r["source"] for r in report["rejected"] if r["path"]
    }
    assert kept >= set(HOSTILE_FILES), report
    assert report["incomplete"] is True, report
    sizes = ", ".join(f"{name} {(folder / name).stat().st_size:,} B" for name in HOSTILE_FILES)
    print(
        f"scan intake of hostile files: {seconds:.1f} s, {mb:.0f} MB peak; {sizes}; "
        f"{len(report['matched'])} matched, {len(report['unmatched'])} pages unmatched, "
        f"{len(report['rejected'])} files not read",
        file=sys.stderr,
    )
    return [
        # Below the 51 s the one 14400 pt page took alone, so that this row catches either
        # failure of the issue; room for the slips (0.25 s a page, as above) and for every
        # hostile page to be downscaled to the pixel limit (about 2 s each here).
        ("scan intake of hostile files: seconds", seconds, 30.0),
        ("scan intake of hostile files: peak memory (MB, target 500)", mb, 500.0),
    ]


def verify_bundles(n: int) -> tuple[str, float, float]:
    """n sealed bundles, each with its record card (pdf + docx), then archive verify --all."""
    root = OUT / f"bundles{n}"
    shutil.rmtree(root, ignore_errors=True)
    from complaintforms.workspace import init_workspace

    init_workspace(root)
    # Received just before National Day, closed in October: the quarter signed off is 2025Q4.
    closed = [
        {**closed_case(dt.date(2025, 9, 29)), "case_no": f"TS-2025-{i + 1:06d}"} for i in range(n)
    ]
    src = OUT / "closed.json"
    src.write_text(json.dumps(closed, ensure_ascii=False), encoding="utf-8")
    w = ["-w", str(root)]
    subprocess.run([EXE, *w, "case", "import", str(src)], check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(
        [EXE, *w, "form", "render", "record_card", "--all"], check=True, capture_output=True
    )
    print(
        f"form render record_card --all for {n} cases: {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    subprocess.run(
        [EXE, *w, "case", "signoff", "--quarter", "2025Q4", "--by", "赵敏"],
        check=True,
        capture_output=True,
    )
    start = time.perf_counter()
    subprocess.run(
        [EXE, *w, "archive", "build", "--quarter", "2025Q4", "--by", "bench"],
        check=True,
        capture_output=True,
    )
    print(f"archive build of {n} bundles: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    seconds = timed([EXE, *w, "archive", "verify", "--all"], runs=1)
    return (f"archive verify --all, {n:,} bundles", seconds, 60.0)


def lifecycle_ledger(n: int, first: str, days: int) -> list[dict]:
    """n cases in every state (the tests' generated ledger, recycled), received over `days`
    days from `first`, each case's steps moved along with its receipt."""
    import datetime as dt
    import random

    sys.path.insert(0, str(REPO))
    from tests.test_reports import make_ledger

    base, rnd, out = make_ledger(n=360), random.Random(1), []
    start = dt.date.fromisoformat(first)

    def move(text: str | None, shift: int) -> str | None:
        return (
            (dt.datetime.fromisoformat(text) + dt.timedelta(days=shift)).isoformat()
            if text
            else text
        )

    for i in range(n):
        rec = json.loads(json.dumps(base[i % len(base)]))
        rec["case_no"] = f"TS-B-{i + 1:07d}"
        shift = (
            start
            + dt.timedelta(days=rnd.randrange(days))
            - dt.date.fromisoformat(rec["received_at"][:10])
        ).days
        rec["received_at"] = move(rec["received_at"], shift)
        for section in ("decision", "handling", "callback", "closure"):
            for key in ("at", "resolved_at"):
                if rec.get(section) and rec[section].get(key):
                    rec[section][key] = move(rec[section][key], shift)
        for past in rec.get("reopens", []):
            past["at"] = move(past["at"], shift)
            past["handling"]["resolved_at"] = move(past["handling"]["resolved_at"], shift)
            past["callback"]["at"] = move(past["callback"]["at"], shift)
        if rec["received_at"] < "2026-11-01":
            out.append(rec)
    return out


def report_seconds(label: str, n: int, first: str, days: int) -> float:
    from complaintforms.workspace import init_workspace

    root = OUT / f"report-{label}"
    shutil.rmtree(root, ignore_errors=True)
    init_workspace(root)
    src = OUT / f"report-{label}.json"
    src.write_text(
        json.dumps(lifecycle_ledger(n, first, days), ensure_ascii=False), encoding="utf-8"
    )
    subprocess.run(
        [EXE, "-w", str(root), "case", "import", str(src)], check=True, capture_output=True
    )
    return timed([EXE, "-w", str(root), "report", "quarterly", "2026Q3"], runs=3)


def soffice() -> str:
    """LibreOffice, the pipeline a user would otherwise reach for; installed when missing."""
    exe = shutil.which("soffice")
    if exe is None:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "libreoffice-writer-nogui"],
            check=True,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        exe = shutil.which("soffice")
    return exe


def soffice_convert(files: list[Path], out: Path) -> float:
    profile = OUT / "lo-profile"
    out.mkdir(parents=True, exist_ok=True)
    argv = [
        soffice(),
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(argv + [str(f) for f in files], check=True, capture_output=True, timeout=3000)
    return time.perf_counter() - start


# Runs argv[2:] in a child of its own and writes the child's high-water mark of resident
# memory (ru_maxrss, kB) to argv[1]. Through this small process rather than straight from
# the bench, since a process started by the bench inherits the bench's own (large) mark on exec.
HIGH_WATER = (
    "import os, sys\n"
    "pid = os.fork() or os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def peak_rss_mb(
    argv: list[str],
    ok: tuple[int, ...] = (0,),
    stdout: Path | None = None,
    high_water: bool = False,
) -> tuple[float, float]:
    """Run a command; return (seconds, peak resident memory of it and its children in MB):
    the largest sum of their resident memory, sampled every 0.2 s. A return code outside `ok`
    stops the bench. `stdout`: a file that gets the command's output (its stderr goes beside
    it, as .stderr). `high_water`: at least the kernel's high-water mark of the command's
    largest process (ru_maxrss), which a peak shorter than the sampling cannot escape; the
    sampled sum then also counts the small process that reads the mark (about 10 MB)."""
    mark = OUT / "high-water.txt"
    command = argv
    if high_water:
        mark.unlink(missing_ok=True)
        command = [sys.executable, "-c", HIGH_WATER, str(mark), *argv]
    start = time.perf_counter()
    with contextlib.ExitStack() as files:
        out = err = subprocess.DEVNULL
        if stdout is not None:
            out = files.enter_context(open(stdout, "wb"))
            err = files.enter_context(open(stdout.with_suffix(".stderr"), "wb"))
        proc = subprocess.Popen(command, stdout=out, stderr=err)
    peak = 0
    while proc.poll() is None:
        total = 0
        pids = [proc.pid]
        while pids:
            pid = pids.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                total += int(
                    next(
                        line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")
                    )
                )
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pids += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, StopIteration, ValueError):
                pass
        peak = max(peak, total)
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"failed: {' '.join(argv)}")
    if high_water:
        peak = max(peak, int(mark.read_text()))  # kB on Linux, as VmRSS
    return seconds, peak / 1024


def against_libreoffice(rows: list, batch: int) -> None:
    """One record card end to end, and a batch of feedback slips, against soffice on the
    same filled docx (its own profile, warmed once)."""
    root = workspace("lo", 0)
    w = ["-w", str(root)]
    case = json.loads(
        subprocess.run(
            [EXE, *w, "--json", "case", "new", "--from", "-"],
            input=json.dumps(CASE, ensure_ascii=False),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    docx = root / next(d["path"] for d in case["documents"] if d["format"] == "docx")
    soffice_convert([docx], OUT / "lo-warm")  # the profile is made on the first run
    one = [EXE, *w, "form", "render", "record_card", case["case_no"], "--format", "pdf"]
    cold = timed(one, runs=3, env=NO_SERVER)
    warm_server(root, json.dumps(CASE, ensure_ascii=False))
    warm = timed(one, runs=3)
    theirs = statistics.median(soffice_convert([docx], OUT / "lo-single") for _ in range(3))
    rows.append(("one record card, warm render server / soffice", warm, theirs))
    rows.append(("one record card, no render server / soffice", cold, theirs))

    ledger = [{**CASE, "received_at": "2026-11-16T10:00:00+08:00"} for _ in range(batch)]
    src = OUT / "batch.json"
    src.write_text(json.dumps(ledger, ensure_ascii=False), encoding="utf-8")
    subprocess.run([EXE, *w, "case", "import", str(src)], check=True, capture_output=True)
    subprocess.run(
        [EXE, *w, "form", "render", "feedback_slip", "--all", "--format", "docx"],
        check=True,
        capture_output=True,
    )
    slips = sorted(root.glob("records/documents/*/*/feedback_slip-*.docx"))
    stop_servers()  # the batch runs its own pool; nothing else on the two cores
    # Each side twice, interleaved, best of two: LibreOffice's batch time varied by half
    # between runs on this machine.
    ours, theirs, peak = [], [], 0.0
    for _ in range(2):
        seconds, rss = peak_rss_mb(
            [EXE, *w, "form", "render", "feedback_slip", "--all", "--format", "pdf"]
        )
        ours.append(seconds)
        peak = max(peak, rss)
        shutil.rmtree(OUT / "lo-batch", ignore_errors=True)
        theirs.append(soffice_convert(slips, OUT / "lo-batch"))
    print(f"batch of {len(slips)}: ours {ours}, soffice {theirs}", file=sys.stderr)
    ours, theirs = min(ours), min(theirs)
    rows.append((f"{len(slips)} feedback slips, batch: ours / soffice", ours, theirs))
    rows.append(("peak memory of our batch (MB, target 1024)", peak, 1024.0))


def against_baseline(rows: list, rev: str, batch: int) -> None:
    """The everyday figures (a record card and a batch of slips, case new / show / accept /
    list --overdue, no render server) by this tree and by an earlier commit `rev`
    (BENCH_BASELINE), in the same run, each side's times interleaved and the best of three
    taken: whether a change made anything slower. The earlier commit is exported into
    bench/out/baseline and imported first on PYTHONPATH, with its own default forms."""
    base = OUT / "baseline"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    # Both trees byte-compiled, as pip leaves an installed package: this environment may set
    # PYTHONDONTWRITEBYTECODE, and compiling on every start would be timed instead.
    for tree in (REPO / "src", base / "src"):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True)
    sides = {
        "this tree": {**NO_SERVER, "PYTHONPATH": str(REPO / "src")},
        rev: {**NO_SERVER, "PYTHONPATH": str(base / "src")},
    }
    ledger = [{**CASE, "received_at": "2026-11-16T10:00:00+08:00"} for _ in range(batch)]
    src = OUT / "baseline-batch.json"
    src.write_text(json.dumps(ledger, ensure_ascii=False), encoding="utf-8")
    figures = [
        "one record card, no server",
        f"{batch + 1} feedback slips",
        "case new, card pdf+docx, no server",
        "case show",
        "case accept",
        "case list --overdue",
    ]
    times: dict[str, dict[str, list[float]]] = {f: {name: [] for name in sides} for f in figures}
    roots = {}
    case_json = json.dumps(CASE, ensure_ascii=False)
    for i, (name, env) in enumerate(sides.items()):
        root = OUT / f"side-{i}"
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([EXE, "init", str(root)], env=env, check=True, capture_output=True)
        out = subprocess.run(
            [EXE, "-w", str(root), "--json", "case", "new", "--from", "-"],
            input=case_json,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        subprocess.run(
            [EXE, "-w", str(root), "case", "import", str(src), "--by", "bench"],
            env=env,
            check=True,
            capture_output=True,
        )
        roots[name] = (root, json.loads(out)["case_no"])
    for _ in range(3):
        for name, env in sides.items():
            root, case_no = roots[name]
            w = ["-w", str(root)]
            one = [EXE, *w, "form", "render", "record_card", case_no, "--format", "pdf"]
            times[figures[0]][name].append(timed(one, runs=3, env=env))
            many = [EXE, *w, "form", "render", "feedback_slip", "--all", "--format", "pdf"]
            times[figures[1]][name].append(timed(many, runs=1, env=env))
            new = [EXE, *w, "case", "new", "--from", "-"]
            times[figures[2]][name].append(timed(new, runs=3, stdin=case_json, env=env))
            times[figures[3]][name].append(timed([EXE, *w, "case", "show", case_no], env=env))
            times[figures[4]][name].append(accept_seconds(root, case_json, env=env))
            overdue = [EXE, *w, "case", "list", "--overdue"]
            times[figures[5]][name].append(timed(overdue, runs=3, env=env))
    print(f"baseline {rev}: {times}", file=sys.stderr)
    for figure in figures:
        ours, theirs = (min(times[figure][n]) for n in sides)
        rows.append((f"{figure}: this tree / {rev}", ours, theirs))


def lookup_rows(root: Path, n: int) -> list[tuple[str, float, float]]:
    """`case list --phone` (issue 13: 0.3 s at 100,000 cases, start-up included) for the
    caller of a case in the middle of the range, the number typed as a clerk hears it; by its
    last four digits and by name beside it, for information. Each first checks that it finds
    its case."""
    i = n // 2
    phone, name = caller(i)["phone"], caller(i)["name"]
    w = [EXE, "-w", str(root), "case", "list"]
    queries = [
        (
            f"case list --phone at {n:,} cases",
            ["--phone", f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"],
            0.3,
        ),
        (
            f"case list --phone (last 4 digits) at {n:,} cases",
            ["--phone", phone[-4:]],
            float("nan"),
        ),
        (f"case list --name at {n:,} cases", ["--name", name], float("nan")),
    ]
    rows = []
    for figure, argv, target in queries:
        out = subprocess.run([*w, "--json", *argv], capture_output=True, check=True).stdout
        assert any(c["complainant"]["phone"] == phone for c in json.loads(out)), argv
        rows.append((figure, timed(w + argv, runs=5), target))
    return rows


def lookup_only() -> None:
    """bench/run.py lookup: only the lookup rows, at 10,000 cases (and 100,000 with
    BENCH_LARGE); BENCH_REUSE=1 keeps a workspace an earlier run built."""
    rows: list = []
    sizes = [10_000] + ([100_000] if os.environ.get("BENCH_LARGE") else [])
    # Byte-compiled, as pip leaves an installed package (this environment may set
    # PYTHONDONTWRITEBYTECODE, and compiling on every start would be timed instead).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    for n in sizes:
        root = OUT / f"lookup{n}"
        if not (os.environ.get("BENCH_REUSE") and (root / "records").exists()):
            start = time.perf_counter()
            root = workspace(f"lookup{n}", n)
            print(f"built {n:,} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rows += lookup_rows(root, n)
    print_rows(rows)


def supervise_rows(
    n: int, runs: int = 3, *, keeps_up: bool = False
) -> list[tuple[str, float, float]]:
    """`supervise` (issue 14) at n stored cases whose open ones are routed to three
    departments: the morning's first run, which issues a notice per department and level
    and records an entry on every case in them, each run on a fresh copy of the records;
    then a second run the same day, which adds nothing. The open cases are those of an
    office that keeps up (`keeps_up`, see workspace), or every case of the last 60 days: a
    backlog of about 1% of the store overdue, each of which the notices list (the layout
    of their tables is most of the time). BENCH_REUSE=1 keeps a workspace an earlier run
    built."""
    name = f"supervise{n}" + ("-kept" if keeps_up else "")
    root = OUT / name
    fresh = OUT / f"{name}-records"
    if not (os.environ.get("BENCH_REUSE") and fresh.is_dir() and (root / "records").exists()):
        start = time.perf_counter()
        root = workspace(name, n, assigned=True, keeps_up=keeps_up)
        print(f"built {n:,} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(root / "records", fresh, symlinks=True)
    from complaintforms.domain.workdays import calendar_from

    cal, day = calendar_from((), ()), dt.date.today()
    while not cal.is_workday(day):  # the last working day: on a day off it issues nothing
        day -= dt.timedelta(days=1)
    argv = [EXE, "-w", str(root), "--json", "supervise", "--as-of", str(day), "--by", "bench"]
    first, result = [], {}
    for _ in range(runs):
        shutil.rmtree(root / "records")
        shutil.copytree(fresh, root / "records", symlinks=True)
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=NO_SERVER)
        first.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr}")
        result = json.loads(proc.stdout)
    assert result["reminded"] > 0, result
    notices = len(result["notices"])
    office = "an office that keeps up" if keeps_up else "60 days open"
    print(
        f"supervise at {n:,} cases ({office}) as of {day}: {notices} notices, "
        f"{result['reminded']} cases; first runs {[round(t, 2) for t in first]} s",
        file=sys.stderr,
    )
    again = timed(argv, runs=3, env=NO_SERVER)
    return [
        (
            f"supervise at {n:,} cases, {office} ({notices} notices, {result['reminded']} listed)",
            statistics.median(first),
            5.0,
        ),
        (f"supervise again the same day at {n:,} cases, {office} (nothing new)", again, 5.0),
    ]


def supervise_sets(large: bool) -> list[tuple[str, float, float]]:
    """The supervise rows: 10,000 cases, and with `large` 100,000 both as an office that
    keeps up and with the 60-day backlog."""
    rows = supervise_rows(10_000)
    if large:
        rows += supervise_rows(100_000, keeps_up=True) + supervise_rows(100_000)
    return rows


def supervise_only() -> None:
    """bench/run.py supervise: only the supervise rows, at 10,000 cases (and 100,000 with
    BENCH_LARGE)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    print_rows(supervise_sets(bool(os.environ.get("BENCH_LARGE"))))


def accept_seconds(root: Path, case_json: str, runs: int = 3, env: dict | None = None) -> float:
    """`case accept` end to end, each run on a case of its own."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [EXE, "-w", str(root), "--json", "case", "new", "--from", "-"],
            input=case_json,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        case_no = json.loads(out)["case_no"]
        times.append(
            timed(
                [
                    EXE,
                    "-w",
                    str(root),
                    "case",
                    "accept",
                    case_no,
                    "--department",
                    "SVC",
                    "--by",
                    "bench",
                ],
                runs=1,
                env=env,
            )
        )
    return statistics.median(times)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    try:
        if sys.argv[1:2] == ["baseline"] and len(sys.argv) == 3:
            # bench/run.py baseline REV: only the comparison with an earlier commit.
            rows: list = []
            against_baseline(rows, sys.argv[2], int(os.environ.get("BENCH_SLIPS", "500")))
            print_rows(rows)
        elif sys.argv[1:] == ["lookup"]:
            # bench/run.py lookup: only case list --phone / --name (issue 13).
            lookup_only()
        elif sys.argv[1:2] == ["web"]:
            # bench/run.py web [N]: the web interface under 20 sessions (issue 15).
            import web

            print_rows(web.main(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000))
        elif sys.argv[1:2] == ["pg"]:
            # bench/run.py pg [N]: PostgreSQL at a million cases, beside TinyDB (issue 16).
            import pg

            print_rows(pg.main(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
        elif sys.argv[1:] == ["supervise"]:
            # bench/run.py supervise: only the reminder and supervision notices (issue 14).
            supervise_only()
        elif sys.argv[1:] == ["hostile"]:
            # bench/run.py hostile: only the scan intake of hostile files.
            print_rows(hostile_intake())
        else:
            run_all()
    finally:
        stop_servers()


def run_all() -> None:
    rows: list[tuple[str, float, float]] = []
    case_json = json.dumps(CASE, ensure_ascii=False)

    rows.append(("complaintforms --help", timed([EXE, "--help"], runs=7), 0.3))
    small = workspace("small", 0)
    rows.append(
        (
            "case new, record card pdf+docx, no render server",
            timed(
                [EXE, "-w", str(small), "case", "new", "--from", "-"],
                stdin=case_json,
                env=NO_SERVER,
            ),
            1.0,
        )
    )
    rows.append(("record card PDF in a warm process", warm_pdf_seconds(small), 0.3))

    sizes = [1_000, 10_000] + ([100_000] if os.environ.get("BENCH_LARGE") else [])
    for n in sizes:
        big = workspace(f"n{n}", n)
        new = [EXE, "-w", str(big), "case", "new", "--from", "-"]
        cold = timed(new, stdin=case_json, env=NO_SERVER)
        warm_server(big, case_json)
        rows.append(
            (f"case new at {n:,} cases, warm render server", timed(new, stdin=case_json), 0.5)
        )
        rows.append((f"case new at {n:,} cases, no render server", cold, 0.5))
        store_only = (
            "import json,sys; from complaintforms.services.cases import register_case; "
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
                timed([EXE, "-w", str(big), "case", "show", "TS-2020-000100"]),
                0.3 if n >= 100_000 else 0.5,  # issue 6 asks 0.3 s at 100,000
            )
        )
        rows.append((f"case accept at {n:,} cases", accept_seconds(big, case_json), float("nan")))
        if n >= 10_000:
            rows += lookup_rows(big, n)
        rows.append(
            (
                f"case list --overdue at {n:,} cases",
                timed([EXE, "-w", str(big), "case", "list", "--overdue"], runs=3),
                float("nan"),
            )
        )

    stop_servers()
    rows.append(
        (
            "quarterly report, 10,000 cases in the quarter",
            report_seconds("10k", 10_000, "2026-07-01", 90),
            5.0,
        )
    )
    if os.environ.get("BENCH_LARGE"):
        rows.append(
            (
                "quarterly report, 100,000 stored cases",
                report_seconds("100k", 100_000, "2023-01-01", 1400),
                15.0,
            )
        )
    rows += supervise_sets(bool(os.environ.get("BENCH_LARGE")))
    if not os.environ.get("BENCH_NO_LIBREOFFICE"):
        against_libreoffice(rows, int(os.environ.get("BENCH_SLIPS", "500")))
    if os.environ.get("BENCH_BASELINE"):
        against_baseline(
            rows, os.environ["BENCH_BASELINE"], int(os.environ.get("BENCH_SLIPS", "500"))
        )
    rows.append(scan_intake_rate())
    rows += hostile_intake()
    rows.append(verify_bundles(int(os.environ.get("BENCH_BUNDLES", "1000"))))
    print_rows(rows)


def print_rows(rows: list) -> None:
    print(f"complaintforms bench — {time.strftime('%Y-%m-%d')} — {os.cpu_count()} cores")
    width = max([48, *(len(name) for name, _, _ in rows)])
    print(f"{'figure':<{width}} {'measured':>9} {'target':>8} {'target/measured':>16}")
    print(
        "(for the soffice rows the target column is LibreOffice's time: the ratio is how many times faster we are)"
    )
    for name, seconds, target in rows:
        ratio = "" if target != target else f"{target / seconds:.2f}x"
        unit = "" if "MB" in name else " s"
        shown_target = "-" if target != target else f"{target:.2f}{unit}"
        print(f"{name:<{width}} {seconds:>7.3f}{unit or '  '} {shown_target:>8} {ratio:>16}")


if __name__ == "__main__":
    main()
