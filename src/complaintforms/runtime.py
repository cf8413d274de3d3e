"""The per-user run folder of the background servers, and where the command server of this
code listens and what it says about itself (launch.py is the server and its client;
documents/server.py the render server). Nothing but the interpreter's own modules: every
command reads this before anything else.
"""

from __future__ import annotations

import _socket
import os
import sys
from stat import S_ISDIR  # already imported by os

# The command server's protocol: a marshal'd request (argv, env, cwd, umask, stdio) with the
# caller's three descriptors; the child says b"P<pid>\n" once it has taken them on, the caller
# answers b"G" (go), and the server says b"X<exit status>\n" when the child has ended.
PROTOCOL = 1
_LIMITS = ("RLIMIT_NOFILE", "RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CPU")


def run_dir() -> str:
    """Where sockets live: short (a socket path has at most 107 bytes) and private to the
    user, like tmux's /tmp/tmux-UID."""
    if os.environ.get("COMPLAINTFORMS_RUN_DIR"):
        return os.environ["COMPLAINTFORMS_RUN_DIR"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "complaintforms")
    return f"/tmp/complaintforms-{os.getuid()}"


def private(path: str) -> bool:
    """The run folder exists, belongs to this user and nobody else may enter it; and nobody
    else can swap it for another (its parent is ours or root's, and sticky when anyone may
    write there, as /tmp is: root given another user's XDG_RUNTIME_DIR gets no servers)."""
    try:
        parent = os.stat(os.path.dirname(os.path.abspath(path)))
        if parent.st_uid not in (0, os.getuid()) or (
            parent.st_mode & 0o002 and not parent.st_mode & 0o1000
        ):
            return False
        os.makedirs(path, mode=0o700, exist_ok=True)
        stat = os.lstat(path)
    except OSError:
        return False
    return S_ISDIR(stat.st_mode) and stat.st_uid == os.getuid() and stat.st_mode & 0o077 == 0


def enabled() -> bool:
    return (
        os.environ.get("COMPLAINTFORMS_COMMAND_SERVER", "1") != "0"
        and hasattr(_socket, "AF_UNIX")
        and hasattr(os, "fork")
    )


def _fingerprint() -> str:
    """What a server must share with its caller, else it is another server: the
    interpreter, its flags and import path, the size and time of every module of ours (and
    of each folder on the path, which an installed or removed package changes), and who the
    process is: user and groups, control group (a service unit, a login session), limits and
    niceness, all of which a forked child keeps from the server. About 1 ms."""
    import resource  # built in, as are the others here

    parts = [
        str(PROTOCOL),
        sys.executable,
        sys.version,
        repr(sys.flags),
        os.environ.get("PYTHONPATH", ""),
        repr((os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups()))),
        repr([resource.getrlimit(getattr(resource, name)) for name in _LIMITS]),
        str(os.getpriority(os.PRIO_PROCESS, 0)),
    ]
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            parts.append(fh.read())
    except OSError:
        pass
    for entry in sys.path[1:]:
        try:
            parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
        except OSError:
            parts.append(entry)
    stack = [os.path.dirname(os.path.abspath(__file__))]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    stat = entry.stat()
                    parts.append(f"{entry.path}:{stat.st_size}:{stat.st_mtime_ns}")
    import zlib  # built in; imported here so the module itself stays light

    return f"{zlib.crc32('|'.join(sorted(parts)).encode()):08x}"


def socket_path() -> str:
    return os.path.join(run_dir(), f"command-{_fingerprint()}.sock")


def status() -> dict | None:
    """The running server of this code, as it writes about itself in its lock file (its pid
    and how many commands it has started), or None."""
    path = socket_path()
    try:
        with open(path + ".lock", encoding="ascii") as fh:
            pid, served = (int(part) for part in fh.read().split())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return {"pid": pid, "served": served, "socket": path} if os.path.exists(path) else None


def detach(module: str, *args: str) -> bool:
    """Start `python -m module args` in the background: a session of its own (no signal of
    the caller's terminal reaches it), nothing of the caller's open, in /. False when it
    could not be started."""
    import subprocess

    # With the caller's interpreter options (-O, -X ...), which its fingerprint names.
    flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    try:
        subprocess.Popen(
            [sys.executable, *flags, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            cwd="/",
        )
    except OSError:
        return False
    return True
