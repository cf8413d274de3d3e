"""PostgreSQL at a million cases (issue 16, item 6), beside TinyDB at 100,000.

    python bench/pg.py [N]          (default 1,000,000; bench/run.py pg calls it)

A PostgreSQL server of the bench's own (Debian's server programs, as the tests find them;
run as the `postgres` user when we are root) keeps its data in bench/out/pgdata-N with
durable settings (fsync and synchronous commit on, unlike the tests' throwaway cluster).
The N cases are loaded in bulk (load_fast: the records, index rows and audit events
`case import` makes), spread over 2019-2026 like the TinyDB
benches, with the last weeks' cases open. BENCH_REUSE=1 keeps a loaded database.

Figures, for PostgreSQL at N and TinyDB at 100,000 (bench/out/web100000, made by the web
bench or here):
  - the storage part of `case new`: register_case without the card, in a warm process
    (median of 20);
  - `case show`, `case list --overdue`, `report quarterly` as commands (subprocesses);
  - 24 `case new` at once from two workspaces (two branches) on one database: no number
    twice and none left out.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

import run as bench  # noqa: E402

CHUNK = 20_000
SETTINGS = {
    "listen_addresses": "''",
    "shared_buffers": "256MB",
    "max_connections": "100",
    "log_min_messages": "warning",
}


class Server:
    """A PostgreSQL server in a folder of the bench that outlives one run."""

    def __init__(self, base: Path):
        from tests.pg import find_bin

        self.base = base
        self.bindir = find_bin()
        if self.bindir is None:
            raise SystemExit("PostgreSQL's server programs are not installed (make setup)")
        self.user = "postgres" if os.geteuid() == 0 else None

    def run(self, program: str, *args: str) -> None:
        argv = [str(self.bindir / program), *args]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"{program} failed: {proc.stderr[-2000:]}")

    @property
    def data(self) -> Path:
        return self.base / "data"

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            import shutil

            shutil.rmtree(self.base, ignore_errors=True)
            self.base.mkdir(parents=True)
            if self.user:
                import pwd

                owner = pwd.getpwnam(self.user)
                os.chown(self.base, owner.pw_uid, owner.pw_gid)
            self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")  # fmt: skip
        options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        options += f" -k {self.base} -p 5432"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"),
                 "-o", options, "-w", "-t", "120", "start")  # fmt: skip

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def dsn(self, db: str = "postgres") -> str:
        return f"host={self.base} port=5432 user=postgres dbname={db}"

    def ensure_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


def pg_workspace(root: Path, dsn: str):
    from complaintforms.workspace import Workspace, init_workspace

    if not (root / "complaintforms.yaml").exists():
        init_workspace(root)
        with open(root / "complaintforms.yaml", "a", encoding="utf-8") as fh:
            fh.write(f"\nstorage:\n  backend: postgresql\n  dsn: {json.dumps(dsn)}\n")
    return Workspace.open(root)


def ledger(start: int, stop: int, n: int) -> list[dict]:
    """Cases start..stop of the n: those bench.workspace(assigned=True, keeps_up=True) makes."""
    return [bench.ledger_case(i, n, assigned=True, keeps_up=True) for i in range(start, stop)]


def load_fast(ws, dsn: str, n: int) -> float:
    """The same import, a chunk at a time into an in-memory store (numbers and the audit
    chain carried on from the database), whose records, name grams and events are then
    written with COPY in one transaction per chunk, under the store's write lock: rows as
    the PostgreSQL store writes them (its own _columns and name_grams), events verbatim,
    each checked by the chain trigger. Row by row, `case import` takes six round trips a
    case (300-1,000 cases/s here): a million would take most of an hour."""
    import types

    import orjson
    import psycopg

    from complaintforms.domain import model
    from complaintforms.services.ledger import import_cases
    from complaintforms.storage import memory as memory_module
    from complaintforms.storage import postgresql as pgstore
    from complaintforms.storage.memory import MemoryStore
    from complaintforms.workspace import Workspace

    # The in-memory store copies every record it takes or gives with copy.deepcopy, two
    # thirds of an import's time there; the records are JSON, which orjson copies 10x faster.
    json_copy = types.SimpleNamespace(deepcopy=lambda x: orjson.loads(orjson.dumps(x)))
    memory_module.copy = model.copy = json_copy
    start = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        for first in range(0, n, CHUNK):
            memory = MemoryStore()
            memory.counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            seq, hash_, month = conn.execute("SELECT seq, hash, month FROM audit_head").fetchone()
            memory._recorded_head = {"seq": seq, "hash": hash_}
            conn.commit()
            chunk = Workspace.open(ws.root)
            chunk.__dict__["store"] = memory
            text = json.dumps(ledger(first, min(n, first + CHUNK), n), ensure_ascii=False)
            import_cases(chunk, text, "json", source="bench", by="bench")
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (pgstore.WRITE_LOCK,))
                records = list(memory.records["cases"].values())
                with conn.cursor().copy(
                    "COPY records (collection, key, partition, status, phone, name, body) "
                    "FROM STDIN"
                ) as copy:
                    for record in records:
                        c = pgstore._columns(record, "cases")
                        copy.write_row(
                            (c["collection"], c["key"], c["partition"], c["status"],
                             c["phone"], c["name"], c["body"])
                        )  # fmt: skip
                with conn.cursor().copy(
                    "COPY name_grams (case_no, partition, gram) FROM STDIN"
                ) as copy:
                    for record in records:
                        c = pgstore._columns(record, "cases")
                        for gram in pgstore.name_grams(c["name"]) if c["name"] else ():
                            copy.write_row((c["key"], c["partition"], gram))
                with conn.cursor().copy(
                    "COPY audit (seq, month, at, actor, action, case_key, prev, hash, body) "
                    "FROM STDIN"
                ) as copy:
                    for event in memory.events:
                        month = max(month, event["at"][:7])
                        body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()
                        copy.write_row(
                            (event["seq"], month, event["at"], event["by"], event["action"],
                             event.get("case"), event["prev"], event["hash"], body)
                        )  # fmt: skip
                for name, value in memory.counters.items():
                    conn.execute(
                        "INSERT INTO counters (name, value) VALUES (%s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET value = GREATEST(counters.value, "
                        "EXCLUDED.value)",
                        (name, value),
                    )
            done = min(n, first + CHUNK)
            rate = done / (time.perf_counter() - start)
            print(f"loaded {done:,} of {n:,} ({rate:.0f} cases/s)", file=sys.stderr, flush=True)
        conn.execute("ANALYZE")
    return time.perf_counter() - start


def storage_of_case_new(root: Path, runs: int = 20) -> float:
    """register_case without the card in one warm process (median), in a subprocess so
    that the stores' caches are those of a fresh command."""
    code = (
        "import json, statistics, sys, time\n"
        "from complaintforms.services.cases import register_case\n"
        "from complaintforms.workspace import Workspace\n"
        f"ws = Workspace.open({str(root)!r})\n"
        "case = json.loads(sys.stdin.read())\n"
        "register_case(ws, dict(case), render=False)  # connect, first reads\n"
        "times = []\n"
        f"for i in range({runs}):\n"
        "    start = time.perf_counter()\n"
        "    register_case(ws, {**case, 'content': f'存储 {i}'}, render=False)\n"
        "    times.append(time.perf_counter() - start)\n"
        "print(statistics.median(times))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(bench.CASE, ensure_ascii=False),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(proc.stdout.strip())


def some_case(ws) -> str:
    month = ws.store.months()[-3]
    return next(iter(ws.store.iter_newest(month)))["case_no"]


def command_rows(label: str, root: Path, ws) -> list[tuple[str, float, float]]:
    w = [bench.EXE, "-w", str(root)]
    env = bench.NO_SERVER
    show = [*w, "case", "show", some_case(ws)]
    overdue = [*w, "case", "list", "--overdue"]
    return [
        (f"{label}: storage part of case new (in-process)", storage_of_case_new(root), 0.05),
        (f"{label}: case show, a process of its own", bench.timed(show, env=env), 0.15),
        (f"{label}: case show, warm command server", bench.warm_timed(show, runs=10), 0.15),
        (f"{label}: case list --overdue", bench.timed(overdue, runs=3, env=env), 0.5),
        (f"{label}: case list --overdue, warm command server", bench.warm_timed(overdue), 0.5),
        (
            f"{label}: report quarterly 2026Q3",
            bench.timed([*w, "report", "quarterly", "2026Q3"], runs=1, env=env),
            15.0,
        ),
    ]


def branches(dsn: str, base: Path, count: int = 24) -> tuple[float, list[str]]:
    """`count` registrations at once from two workspaces on one database; the wall time
    and the numbers they got (checked: distinct, and the next ones after those before)."""
    a, b = pg_workspace(base / "branch-a", dsn), pg_workspace(base / "branch-b", dsn)
    year = str(dt.date.today().year)
    before = a.store.counter_values().get(year, 0)
    case = json.dumps(bench.CASE, ensure_ascii=False)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [bench.EXE, "-w", str((a, b)[k % 2].root), "--json", "case", "new", "--from", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=bench.NO_SERVER,
        )
        for k in range(count)
    ]
    outs = [p.communicate(case) for p in procs]
    wall = time.perf_counter() - start
    failed = [err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0]
    if failed:
        raise SystemExit(f"a branch's registration failed: {failed[0][-500:]}")
    numbers = sorted(json.loads(out)["case_no"] for out, _ in outs)
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    if len(set(numbers)) != count or seqs != list(range(before + 1, before + count + 1)):
        raise SystemExit(f"numbers twice or left out: {numbers}")
    return wall, numbers


def main(n: int = 1_000_000) -> list[tuple[str, float, float]]:
    from complaintforms.workspace import Workspace

    server = Server(bench.OUT / f"pgdata-{n}")
    server.start()
    try:
        name = f"bench{n}"
        if not os.environ.get("BENCH_REUSE"):
            import psycopg

            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            import shutil

            shutil.rmtree(bench.OUT / f"pgws-{n}", ignore_errors=True)
        dsn = server.ensure_database(name)
        root = bench.OUT / f"pgws-{n}" / "main"
        ws = pg_workspace(root, dsn)
        rows: list[tuple[str, float, float]] = []
        have = ws.store.count()
        if have < n:
            took = load_fast(ws, dsn, n) if have == 0 else None
            if took is None:
                raise SystemExit(f"{dsn} holds {have:,} cases, not {n:,}: run without BENCH_REUSE")
            print(f"loaded {n:,} cases in bulk: {n / took:.0f} a second", file=sys.stderr)
        label = f"PostgreSQL at {n:,}"
        rows += command_rows(label, root, ws)
        wall, numbers = branches(dsn, bench.OUT / f"pgws-{n}")
        rows.append((f"{label}: 24 case new at once, two branches (wall)", wall, 0))
        print(f"branches got {numbers[0]} .. {numbers[-1]}, none twice, none left out",
              file=sys.stderr)  # fmt: skip
    finally:
        bench.stop_servers()  # the command server's children would keep connections open
        server.stop()
    tiny = bench.OUT / "web100000"
    if not (tiny / "records").exists():
        bench.workspace("web100000", 100_000, assigned=True, keeps_up=True)
    try:
        rows += command_rows("TinyDB at 100,000", tiny, Workspace.open(tiny))
    finally:
        bench.stop_servers()
    return rows


if __name__ == "__main__":
    bench.print_rows(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
