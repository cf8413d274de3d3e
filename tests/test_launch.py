"""The command server (complaintforms/launch.py): a command after the first one runs in a
child forked from a warm process, and must behave as it does in a process of its own:
same output, exit status, folder, environment, standard input; Ctrl-C and a kill reach it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import run_cli, stop_servers_in
from .test_register import FULL_CASE

EXE = Path(sys.executable).parent / "complaintforms"
CASE = json.dumps(FULL_CASE, ensure_ascii=False)


@pytest.fixture
def warm(tmp_path):
    """The environment of commands with a command server of their own (short idle), and
    that server stopped afterwards."""
    run = Path(tempfile.mkdtemp(prefix="cf-run-"))  # short: a socket path has 107 bytes
    env = {
        **os.environ,
        "COMPLAINTFORMS_COMMAND_SERVER": "1",
        "COMPLAINTFORMS_COMMAND_SERVER_IDLE": "60",
        "COMPLAINTFORMS_RUN_DIR": str(run),
    }
    yield env
    stop_servers_in(run)


def cli(env: dict, *args: str, cwd: Path | None = None, input_text: str | None = None):
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, env=env, cwd=cwd, input=input_text,
        timeout=120,
    )  # fmt: skip


def server(env: dict, timeout: float = 30.0) -> dict:
    """The pid and count of commands of the server in the run folder, once it listens."""
    run = Path(env["COMPLAINTFORMS_RUN_DIR"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for lock in run.glob("command-*.sock.lock"):
            try:
                pid, served = (int(x) for x in lock.read_text().split())
            except ValueError:
                continue
            if Path(str(lock)[: -len(".lock")]).exists():
                return {"pid": pid, "served": served, "socket": str(lock)[: -len(".lock")]}
        time.sleep(0.05)
    raise AssertionError(f"no command server in {run}: {list(run.iterdir())}")


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def gone(pid: int) -> bool:
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def blocked_case_new(env: dict, ws) -> tuple[subprocess.Popen, int, int]:
    """`case new --from -` through the server, waiting for its standard input: the caller,
    the server's pid and the command's (the server's only child)."""
    zygote = server(env)["pid"]
    proc = subprocess.Popen(
        [str(EXE), "-w", str(ws.root), "case", "new", "--from", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip
    wait_for(lambda: len(children(zygote)) == 1)
    (child,) = children(zygote)
    assert child != proc.pid
    wait_for(lambda: reading_stdin(child))  # past its start, in the command itself
    return proc, zygote, child


def reading_stdin(pid: int) -> bool:
    """The process waits in a read of its standard input (a pipe)."""
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text()
        syscall = Path(f"/proc/{pid}/syscall").read_text()
    except OSError:
        return False
    return "pipe_read" in wchan or syscall.startswith("0 0x0 ")


def test_a_command_after_the_first_runs_in_the_server_with_the_callers_stdin(ws, warm):
    first = cli(warm, "-w", str(ws.root), "case", "list")
    assert first.returncode == 0, first.stderr
    assert server(warm)["served"] == 0  # the first ran in its own process, and started it

    proc, zygote, child = blocked_case_new(warm, ws)
    # The command is the server's child, not the caller: its parent is the server.
    stat = Path(f"/proc/{child}/stat").read_text()
    assert int(stat.rsplit(")", 1)[1].split()[1]) == zygote
    out, err = proc.communicate(CASE, timeout=120)
    assert proc.returncode == 0, err
    number = out.splitlines()[0]
    assert number.startswith("TS-")
    paths = [Path(line.strip()) for line in out.splitlines()[1:]]
    assert paths and all(p.is_file() for p in paths), out
    assert server(warm)["served"] == 1
    cold = run_cli("-w", str(ws.root), "--json", "case", "show", number)
    assert json.loads(cold.stdout)["complainant"]["name"] == FULL_CASE["complainant"]["name"]

    # Commands that must own their process never go to the server.
    assert cli(warm, "-w", str(ws.root), "user", "list").returncode == 0
    assert server(warm)["served"] == 1


def test_output_and_exit_status_are_the_commands_own(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    server(warm)
    number = cli(warm, "-w", str(ws.root), "case", "new", "--from", "-", input_text=CASE)
    number = number.stdout.splitlines()[0]
    cold_env = {**warm, "COMPLAINTFORMS_COMMAND_SERVER": "0"}
    for args, code in [
        (["case", "show", number], 0),
        (["--json", "case", "show", number], 0),
        (["case", "show", "TS-1999-000001"], 1),
        (["case", "shw"], 2),
        (["case", "list", "--overdue", "--quarter", "2026Q9"], 1),
    ]:
        warm_run = cli(warm, "-w", str(ws.root), *args)
        cold_run = cli(cold_env, "-w", str(ws.root), *args)
        assert (warm_run.returncode, warm_run.stdout, warm_run.stderr) == (
            cold_run.returncode,
            cold_run.stdout,
            cold_run.stderr,
        ), args
        assert warm_run.returncode == code, (args, warm_run.stderr)
    assert server(warm)["served"] >= 6


def test_the_callers_folder_and_environment(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    server(warm)
    number = cli(warm, "-w", str(ws.root), "case", "new", "--from", "-", input_text=CASE)
    number = number.stdout.splitlines()[0]
    served = server(warm)["served"]
    # No --workspace: the caller's folder is the workspace; the language is the caller's.
    chinese = cli({**warm, "COMPLAINTFORMS_LANG": "zh-CN"}, "case", "show", number, cwd=ws.root)
    english = cli({**warm, "COMPLAINTFORMS_LANG": "en"}, "case", "show", number, cwd=ws.root)
    assert chinese.returncode == english.returncode == 0, chinese.stderr + english.stderr
    assert "投诉人" in chinese.stdout and "投诉人" not in english.stdout
    assert server(warm)["served"] == served + 2
    cold = cli(
        {**warm, "COMPLAINTFORMS_LANG": "zh-CN", "COMPLAINTFORMS_COMMAND_SERVER": "0"},
        "case", "show", number, cwd=ws.root,
    )  # fmt: skip
    assert cold.stdout == chinese.stdout


def test_ctrl_c_reaches_the_command(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    proc, _, child = blocked_case_new(warm, ws)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)  # its standard input still open: only the signal ends it
    err = proc.stderr.read()
    proc.stdin.close()
    # As in a process of its own: the CLI's own word for it, and 130.
    assert proc.returncode == 130, err
    assert err.strip() == "complaintforms: interrupted"
    wait_for(lambda: gone(child))
    assert json.loads(run_cli("-w", str(ws.root), "--json", "case", "list").stdout) == []


def test_a_killed_caller_takes_its_command_with_it(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    proc, zygote, child = blocked_case_new(warm, ws)
    proc.kill()
    proc.wait(timeout=30)
    wait_for(lambda: child not in children(zygote))
    assert json.loads(run_cli("-w", str(ws.root), "--json", "case", "list").stdout) == []
    # The server goes on serving.
    again = cli(warm, "-w", str(ws.root), "case", "list")
    assert again.returncode == 0, again.stderr


def test_a_stale_socket_means_the_command_runs_in_process(ws, warm):
    import socket

    where = subprocess.run(
        [str(EXE.parent / "python"), "-c", "from complaintforms import launch; print(launch.socket_path())"],
        capture_output=True, text=True, env=warm, check=True,
    ).stdout.strip()  # fmt: skip
    Path(where).parent.mkdir(mode=0o700, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(where)
    stale.close()  # the file stays, nobody listens
    result = cli(warm, "-w", str(ws.root), "case", "list")
    assert result.returncode == 0, result.stderr
    assert server(warm)["socket"] == where  # and a new server took the place
    assert cli(warm, "-w", str(ws.root), "case", "list").returncode == 0
    assert server(warm)["served"] == 1


def test_twelve_registrations_at_once_through_the_server(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    server(warm)
    procs = [
        subprocess.Popen(
            [str(EXE), "-w", str(ws.root), "case", "new", "--from", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=warm,
        )  # fmt: skip
        for _ in range(12)
    ]
    outputs = [p.communicate(CASE, timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    numbers = sorted(out.splitlines()[0] for out, _ in outputs)
    assert len(set(numbers)) == 12
    assert server(warm)["served"] == 12


def test_an_idle_server_leaves(ws, warm):
    env = {**warm, "COMPLAINTFORMS_COMMAND_SERVER_IDLE": "1"}
    cli(env, "-w", str(ws.root), "case", "list")
    info = server(env)
    wait_for(lambda: not Path(info["socket"]).exists())
    wait_for(lambda: gone(info["pid"]))


def test_ctrl_z_stops_the_command_with_its_caller(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    proc, _, child = blocked_case_new(warm, ws)

    def state(pid: int) -> str:
        line = next(
            x
            for x in Path(f"/proc/{pid}/status").read_text().splitlines()
            if x.startswith("State:")
        )
        return line.split()[1]

    proc.send_signal(signal.SIGTSTP)
    wait_for(lambda: state(proc.pid) == "T" and state(child) == "T")
    proc.send_signal(signal.SIGCONT)
    wait_for(lambda: state(proc.pid) != "T" and state(child) != "T")
    out, err = proc.communicate(CASE, timeout=120)
    assert proc.returncode == 0, err
    assert out.startswith("TS-")


def test_doctor_says_whether_a_command_server_runs(ws, warm):
    def detail(env: dict) -> str:
        doctor = cli(env, "-w", str(ws.root), "--json", "doctor")
        checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
        return checks["command-server"]["detail"]

    off = detail({**warm, "COMPLAINTFORMS_COMMAND_SERVER": "0"})
    assert off == "off (COMPLAINTFORMS_COMMAND_SERVER=0)"
    assert detail(warm).startswith("not running")  # this doctor itself starts one
    pid = server(warm)["pid"]
    # The doctor that runs in it reports it, with itself counted.
    assert detail(warm) == f"running, pid {pid}; commands started: 1"


def test_a_caller_stopped_then_killed_takes_its_command_with_it(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    proc, zygote, child = blocked_case_new(warm, ws)
    proc.send_signal(signal.SIGTSTP)
    wait_for(lambda: "T" in Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1][:3])
    proc.kill()
    proc.wait(timeout=30)
    wait_for(lambda: child not in children(zygote))
    assert json.loads(run_cli("-w", str(ws.root), "--json", "case", "list").stdout) == []


def test_signals_the_caller_ignores_stay_ignored(ws, warm):
    """nohup: a hangup does not end the command."""
    cli(warm, "-w", str(ws.root), "case", "list")
    zygote = server(warm)["pid"]
    proc = subprocess.Popen(
        [str(EXE), "-w", str(ws.root), "case", "new", "--from", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=warm, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )  # fmt: skip
    wait_for(lambda: len(children(zygote)) == 1)
    (child,) = children(zygote)
    wait_for(lambda: reading_stdin(child))
    proc.send_signal(signal.SIGHUP)
    os.kill(child, signal.SIGHUP)  # even sent to the command itself
    out, err = proc.communicate(CASE, timeout=120)
    assert proc.returncode == 0, err
    assert out.startswith("TS-")


def test_a_closed_standard_input_is_not_the_servers_socket(ws, warm):
    cli(warm, "-w", str(ws.root), "case", "list")
    served = server(warm)["served"]
    argv = f"exec {EXE} -w {ws.root} case new --from - <&-"
    warm_run = subprocess.run(
        ["sh", "-c", argv], capture_output=True, text=True, env=warm, timeout=60
    )
    cold_env = {**warm, "COMPLAINTFORMS_COMMAND_SERVER": "0"}
    cold_run = subprocess.run(
        ["sh", "-c", argv], capture_output=True, text=True, env=cold_env, timeout=60
    )
    assert (warm_run.returncode, warm_run.stderr) == (cold_run.returncode, cold_run.stderr)
    assert warm_run.returncode == 1
    assert server(warm)["served"] == served  # it ran in its own process


def test_the_callers_interpreter_options_and_code(ws, warm, tmp_path):
    python = str(EXE.parent / "python")
    # -O: the server is started with it too, and serves the next command.
    for k in range(2):
        run = subprocess.run(
            [python, "-O", "-m", "complaintforms", "-w", str(ws.root), "case", "list"],
            capture_output=True, text=True, env=warm, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert server(warm, timeout=120)["served"] == k  # (-O: no byte code yet, slow to start)
    # Another copy of the package first on the caller's path: a server started for it
    # would import the installed one, so it does not serve; every command runs in-process.
    shadow = tmp_path / "shadow"
    shutil.copytree(Path(__file__).resolve().parent.parent / "src" / "complaintforms",
                    shadow / "complaintforms", ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (shadow / "complaintforms" / "cli" / "display.py").open("a").write("\n# the shadow copy\n")
    sockets = set(Path(warm["COMPLAINTFORMS_RUN_DIR"]).glob("*.sock"))
    for _ in range(3):
        run = subprocess.run(
            [python, "-m", "complaintforms", "-w", str(ws.root), "case", "list"],
            capture_output=True, text=True, env=warm, cwd=shadow, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        time.sleep(1)
    assert set(Path(warm["COMPLAINTFORMS_RUN_DIR"]).glob("*.sock")) == sockets


def test_a_run_folder_someone_else_could_swap_is_not_used(tmp_path):
    from complaintforms import runtime

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    assert not runtime.private(str(theirs / "complaintforms"))
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    assert not runtime.private(str(open_to_all / "complaintforms"))
    open_to_all.chmod(0o1777)  # sticky, as /tmp
    assert runtime.private(str(open_to_all / "complaintforms"))
