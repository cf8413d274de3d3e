"""The web interface under load (issue 15, item 6): `complaintforms serve` on a workspace of
N stored cases, 20 signed-in sessions at once, each a clerk going round the desk, the case
list, a case page and now and then a registration with its record card, reading each page
for 0.5-1.5 s before the next click.

    python bench/web.py [N]          (default 100,000; bench/run.py web calls it)

Prints p50/p95 of each page and the server's peak memory (VmHWM of the serving process and
of any render process it started). Times are whole HTTP requests over loopback.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import run as bench  # noqa: E402

SESSIONS = 20
ROUNDS = 12  # per session: desk, list, case page each round; a registration every 4th
# Between two requests a person reads the page: 0.5 to 1.5 s (a clerk at work clicks every
# few seconds; this is brisker). Without it 20 clients in a loop are a load test of how
# many requests two cores serve, not of 20 people at their desks.
THINK = (0.5, 1.5)
PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class Session:
    """One browser: its own connection and cookies."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, form: dict | None = None):
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if cookie:
                    self.cookies[name] = cookie
                else:
                    self.cookies.pop(name, None)
        return response.status, response.getheader("Location"), data.decode("utf-8", "replace")

    def login(self, name: str) -> None:
        _, _, page = self.request("GET", "/login")
        token = CSRF.search(page).group(1)
        status, _, _ = self.request(
            "POST", "/login", {"csrf_token": token, "username": name, "password": PASSWORD}
        )
        assert status == 303, status
        _, _, desk = self.request("GET", "/")
        self.csrf = CSRF.search(desk).group(1)


def server_pids(pid: int, root: Path) -> set[int]:
    """The server, its children and the render processes it uses (started by one of its
    threads, so listed under that thread's task, or by an earlier command)."""
    from complaintforms.documents import server as renderd
    from complaintforms.workspace import Workspace

    pids = {pid}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            pids.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    ws = Workspace.open(root)
    info = renderd.status(ws.forms_dir, ws.config.font_sans)
    if info:
        pids.update(int(p) for p in info.get("workers") or [info["pid"]])
    return pids


class PssSampler(threading.Thread):
    """The processes' summed PSS (each shared page counted once, split among those that
    share it: two forked render workers share their fonts and code), every second."""

    def __init__(self, pid: int, root: Path):
        super().__init__(daemon=True)
        self.pid, self.root, self.peak, self.done = pid, root, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            total = 0
            for p in server_pids(self.pid, self.root):
                try:
                    rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
                except OSError:
                    continue
                total += int(rollup.split("\nPss:")[1].split()[0])
            self.peak = max(self.peak, total / 1024)


def peak_memory_mb(pid: int, root: Path) -> float:
    """The sum of the processes' peak RSS (VmHWM): shared pages counted in each."""
    total = 0
    pids = server_pids(pid, root)
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
                    name = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")[:80]
                    print(
                        f"peak {int(line.split()[1]) // 1024} MB: {name.decode()}", file=sys.stderr
                    )
        except OSError:
            pass
    return total / 1024


def main(n: int = 100_000) -> list[tuple[str, float, float]]:
    root = bench.OUT / f"web{n}"
    if not (os.environ.get("BENCH_REUSE") and (root / "records").exists()):
        start = time.perf_counter()
        bench.workspace(f"web{n}", n, assigned=True, keeps_up=True)
        print(f"built {n:,} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    from complaintforms.services import users
    from complaintforms.workspace import Workspace

    ws = Workspace.open(root)
    names = [f"clerk{i:02d}" for i in range(SESSIONS)]
    for name in names:
        try:
            users.get_user(ws, name)
        except Exception:  # noqa: BLE001 - not there yet
            users.add_user(
                ws,
                name,
                role_name="clerk",
                password_text=PASSWORD,
                by="bench",
                display_name=f"客服{name[-2:]}",
            )
    case_nos = [c["case_no"] for c in ws.store.iter_records(months=recent_months(ws))][-2000:]
    bench.stop_servers()  # the render process measured is the one this run starts
    port = bench_port()
    env = {**os.environ, "COMPLAINTFORMS_LANG": "zh-CN"}
    server = subprocess.Popen(
        [bench.EXE, "-w", str(root), "serve", "--port", str(port), "--threads", "8"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_up(port)
        if os.environ.get("BENCH_PROFILE"):  # py-spy's view of the server under the load
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    str(server.pid),
                    "-d",
                    "60",
                    "-f",
                    "speedscope",
                    "-o",
                    os.environ["BENCH_PROFILE"],
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        sessions = [Session(port) for _ in names]
        for session, name in zip(sessions, names, strict=True):
            session.login(name)
        # One registration before the clock starts: the first record card loads the fonts.
        register(sessions[0], 0)
        times: dict[str, list[float]] = {"desk": [], "list": [], "case": [], "register": []}
        lock = threading.Lock()
        failures: list[str] = []

        def worker(k: int, session: Session) -> None:
            rng = random.Random(k)
            for r in range(ROUNDS):
                for label, method, path in (
                    ("desk", "GET", "/"),
                    ("list", "GET", "/cases"),
                    ("case", "GET", f"/cases/{rng.choice(case_nos)}"),
                ):
                    time.sleep(rng.uniform(*THINK))
                    start = time.perf_counter()
                    status, _, _ = session.request(method, path)
                    took = time.perf_counter() - start
                    with lock:
                        times[label].append(took)
                        if status != 200:
                            failures.append(f"{path}: {status}")
                if r % 4 == k % 4:
                    time.sleep(rng.uniform(*THINK))
                    start = time.perf_counter()
                    status = register(session, k * 100 + r)
                    with lock:
                        times["register"].append(time.perf_counter() - start)
                        if status != 303:
                            failures.append(f"register: {status}")

        threads = [threading.Thread(target=worker, args=(k, s)) for k, s in enumerate(sessions)]
        sampler = PssSampler(server.pid, root)
        sampler.start()
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        memory = peak_memory_mb(server.pid, root)
        sampler.done.set()
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failures:
        raise SystemExit(f"failed requests: {failures[:5]}")
    count = sum(len(v) for v in times.values())
    print(
        f"web at {n:,} cases: {SESSIONS} sessions, {count} requests in {wall:.1f} s "
        f"({count / wall:.0f}/s); p50 "
        + ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in times.items()),
        file=sys.stderr,
    )
    rows = [
        (f"web p95, desk (GET /), {SESSIONS} sessions, {n:,} cases", p95(times["desk"]), 0.15),
        (f"web p95, case list (GET /cases), {SESSIONS} sessions", p95(times["list"]), 0.15),
        (f"web p95, case page (GET /cases/NO), {SESSIONS} sessions", p95(times["case"]), 0.15),
        (
            f"web p95, registration with record card, {SESSIONS} sessions",
            p95(times["register"]),
            0.6,
        ),
        (f"web server peak memory (MB, summed peak RSS), {SESSIONS} sessions", memory, 400.0),
        (f"web server peak memory (MB, summed PSS), {SESSIONS} sessions", sampler.peak, 400.0),
    ]
    return rows


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def register(session: Session, k: int) -> int:
    status, _, _ = session.request(
        "POST",
        "/cases/new",
        {
            "csrf_token": session.csrf,
            "kind": "complaint",
            "channel": "phone",
            "complainant.name": "王小明",
            "complainant.phone": f"139{k:08d}",
            "complainant.address": f"杭州市拱墅区湖墅南路 {k} 号",  # not one caller's repeats
            "target.type": "department",
            "target.department": "SVC",
            "category": "维修质量",
            "content": "更换刹车片后仍有异响，两次返厂均未解决。",
            "demand": "免费彻底检修。",
        },
    )
    return status


def recent_months(ws) -> list[str]:
    import datetime as dt

    today = dt.date.today()
    months = []
    for back in range(3):
        y, m = today.year, today.month - back
        while m <= 0:
            y, m = y - 1, m + 12
        months.append(f"{y}-{m:02d}")
    return months


def bench_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    bench.print_rows(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
