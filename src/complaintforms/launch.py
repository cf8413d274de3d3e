"""The command's entry point, and a warm process that starts commands for it.

Most of a short command's time is spent importing: Click, our modules, YAML and, on
PostgreSQL, psycopg (about 0.1 s of a 0.19 s `case show`). So the first command runs in its
own process as always, and then starts a command server in the background: a process that
has imported all that and does nothing else. A later command connects to it over a Unix
socket and hands over its arguments, environment, working folder, umask and its standard
input, output and error themselves (the file descriptors); the server forks a child that
becomes the command: a fresh copy of the imported modules that no earlier command has
touched, reading and writing the caller's terminal or pipes. The command's exit status, or
the signal that ended it, comes back and is the caller's own. Ctrl-C and other signals to the
caller are passed on to the child; a caller that is killed takes its child with it.

This module is the client too, so it imports nothing but the interpreter's built-in modules
(_socket, _signal, marshal) and runtime.py: a `case show` through the server takes about
0.03 s instead of 0.19 s.

Like the render server (documents/server.py): private to the user (a folder only they may
enter, and the peer's user id checked on every connection), its socket named by a fingerprint
of the code and the interpreter (an upgrade gets a new server), gone after 10 idle minutes
(COMPLAINTFORMS_COMMAND_SERVER_IDLE, seconds), and never needed: no server, a stale one or
any failure before the command starts means the command runs in-process.
COMPLAINTFORMS_COMMAND_SERVER=0 turns it off. Commands that must own their process run
in-process always: `serve` (a web server belongs to the service manager that started it) and
`user` (a password prompt reads the controlling terminal, which a forked child lacks).
"""

from __future__ import annotations

import _signal
import _socket
import marshal
import os
import sys

from complaintforms.runtime import PROTOCOL, detach, enabled, private, socket_path

DEFAULT_IDLE = 600.0
IN_PROCESS = frozenset({"serve", "user"})
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _stdio() -> list[tuple[str, str, bool, bool]]:
    """How the caller's interpreter set up its standard streams: the child sets up its own
    on the same descriptors the same way (encoding from the caller's locale, buffering)."""
    streams = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        streams.append(
            (
                getattr(stream, "encoding", None) or "utf-8",
                getattr(stream, "errors", None) or "strict",
                bool(getattr(stream, "line_buffering", False)),
                bool(getattr(stream, "write_through", False)),
            )
        )
    return streams


# -- the client --------------------------------------------------------------------------


def main() -> None:
    """`complaintforms ...`: through the command server when one is running, else here (and
    then start one for the commands after this one)."""
    args = sys.argv[1:]
    eligible = enabled() and not IN_PROCESS.intersection(args) and not _in_background()
    path = socket_path() if eligible else ""
    if eligible and os.path.exists(path):
        status = _through(path, args)
        if status is not None:
            _exit_as(status)
    try:
        from complaintforms.cli import main as cli_main

        cli_main()
    finally:
        if eligible and len(os.fsencode(path)) <= 100:
            start(path)


def _in_background() -> bool:
    """A job in the background of a terminal: the terminal stops it when it reads there,
    which a child of the server (no terminal of its own) would not be."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) != os.getpgrp()
    except OSError:
        return False


class _GaveUp(Exception):
    """A signal before the command started: the caller stops waiting for it."""


def _through(path: str, args: list[str]) -> int | None:
    """The exit status of the command run by the server at `path`, or None when it could
    not be started there (nothing of it has happened: run it here)."""
    try:
        for fd in (0, 1, 2):  # before the socket, which would take a closed one's number
            os.fstat(fd)
    except OSError:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    if sock.fileno() <= 2:
        sock.close()
        return None
    pending: list[int] = []
    child: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if child:
            try:
                os.kill(child[0], signum)
            except OSError:
                pass
        else:
            pending.append(signum)
            raise _GaveUp  # out of the wait for the server: a child not told "go" never runs

    def suspend(signum: int, frame: object) -> None:
        # Ctrl-Z: the child has no terminal of its own to stop it, so stop it with us, and
        # let it go on when we do.
        for pid, sig in (
            (child[0] if child else 0, _signal.SIGSTOP),
            (os.getpid(), _signal.SIGSTOP),
        ):
            if pid:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        if child:
            try:
                os.kill(child[0], _signal.SIGCONT)
            except OSError:
                pass

    previous = {}
    replies = _Lines(sock)
    try:
        sock.settimeout(5.0)
        try:
            sock.connect(path)
            creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
            if int.from_bytes(creds[4:8], sys.byteorder) != os.getuid():
                return None
            ignored = [
                getattr(_signal, name)
                for name in FORWARDED
                if _signal.getsignal(getattr(_signal, name)) == _signal.SIG_IGN
            ]
            request = marshal.dumps(
                {
                    "protocol": PROTOCOL,
                    "argv": [sys.argv[0], *args],
                    "env": dict(os.environ),
                    "cwd": os.getcwd(),
                    "umask": _umask(),
                    "stdio": _stdio(),
                    "ignored": ignored,  # nohup, or a script's background job: kept so
                }
            )
            for name in FORWARDED:
                signum = getattr(_signal, name)
                if signum not in ignored:
                    previous[signum] = _signal.signal(signum, forward)
            previous[_signal.SIGTSTP] = _signal.signal(_signal.SIGTSTP, suspend)
            ancillary = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _fds(0, 1, 2))
            sock.sendmsg([len(request).to_bytes(8, "big") + request], [ancillary])
            sock.settimeout(10.0)  # a fork and a few system calls: milliseconds, unless stuck
            first = replies.line()
            if first[:1] == b"P" and first[1:].isdigit():
                child.append(int(first[1:]))  # from here on a signal is the child's
                sock.sendall(b"G")  # go: from here on the command is the child's, not ours
        except (OSError, ValueError):
            if child:  # no "go" got through: the child leaves without running it
                child.clear()
        except _GaveUp:
            return -pending[0]
        if not child:
            # Refused, failed or too slow before the command started: it runs here.
            return None
        sock.settimeout(None)  # the command takes as long as it takes
        try:
            last = replies.line()
        except OSError:
            last = b""
        if last.startswith(b"X"):
            return int(last[1:])
        # The server is gone (killed) and cannot tell how the command ended: wait for it.
        import time

        while _alive(child[0]):
            time.sleep(0.05)
        _say(N_("the command server stopped; the command's exit status is unknown"))
        return 1
    finally:
        sock.close()
        for signum, handler in previous.items():
            _signal.signal(signum, handler)


def N_(message: str) -> str:
    """i18n.N_ (marks a message for the catalog), here so that the client need not import
    i18n on its way to the server."""
    return message


def _say(message: str) -> None:
    """A one-line reason on stderr, in the user's language (the rare path: i18n imported
    only here)."""
    from complaintforms import i18n
    from complaintforms.cli.base import configured_language

    i18n.choose(configured_language(os.environ.get("COMPLAINTFORMS_WORKSPACE")))
    os.write(2, f"complaintforms: {i18n._(message)}\n".encode())


def _exit_as(status: int) -> None:
    """End as the command ended: its exit code, or killed by the same signal."""
    if status < 0:
        _signal.signal(-status, _signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        status = 128 - status
    sys.stdout.flush()
    os._exit(status)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fds(*fds: int) -> bytes:
    return b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)


class _Lines:
    """The server's replies, a line at a time (both may come in one read)."""

    def __init__(self, sock) -> None:
        self.sock, self.data = sock, b""

    def line(self) -> bytes:
        while b"\n" not in self.data:
            chunk = self.sock.recv(64)
            if not chunk:
                rest, self.data = self.data, b""
                return rest
            self.data += chunk
        line, self.data = self.data.split(b"\n", 1)
        return line


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def start(path: str) -> None:
    """Start a server at `path` in the background, unless one answers there."""
    if not private(os.path.dirname(path)):
        return
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return  # one is running
    except OSError:
        pass
    finally:
        probe.close()
    detach("complaintforms.launch", path)


# -- the server --------------------------------------------------------------------------

# What a command usually needs, imported once here; a module a command needs beyond these
# is imported by its child, as in a process of its own. Not WeasyPrint: the render server
# keeps that.
PRELOAD = (
    "complaintforms.cli",
    "complaintforms.cli.display",
    "complaintforms.config",
    "complaintforms.services.cases",
    "complaintforms.workspace",
    "complaintforms.storage.tinydb",
    "complaintforms.storage.postgresql",
    "complaintforms.documents.server",
    "yaml",
    "tinydb",
    "psycopg",
    "chinese_calendar",
    "difflib",
)


_held: list[int] = []


def serve(path: str, idle: float) -> None:
    """Fork a child for each command that connects, until `idle` seconds pass with none
    running or connecting. One thread only: a fork copies no other thread's half-held lock."""
    import fcntl
    import gc
    import importlib
    import selectors
    import signal
    import socket
    import time

    if not private(os.path.dirname(path)):
        return
    # Not opened for appending: the status is rewritten at offset 0, and on a file opened
    # for appending Linux's pwrite appends instead. Not through a link.
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    _held.append(lock)  # a child closes it, so that it does not hold the lock after us
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        return  # another server for the same code is running or starting
    served = 0

    def write_status() -> None:
        text = f"{os.getpid()} {served}\n".encode()
        os.pwrite(lock, text, 0)
        os.ftruncate(lock, len(text))

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a module that fails here fails in the command
            continue
    if socket_path() != path:
        # This process would run other code than its callers (another copy of the package
        # first on their path, other interpreter options): they run their commands in-process.
        return
    gc.collect()
    gc.freeze()  # the children share these pages instead of each copying them at its first gc

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with_mask = os.umask(0o177)
    try:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        server.bind(path)
    finally:
        os.umask(with_mask)
    server.listen(64)
    write_status()  # after listen: a status that is there means it answers
    me = os.getpid()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "reap")
    children: dict[int, socket.socket] = {}
    last = time.monotonic()
    try:
        while True:
            timeout = None if children else max(0.0, idle - (time.monotonic() - last))
            events = selector.select(min(timeout, 5.0) if timeout is not None else None)
            if not events and not children and time.monotonic() - last >= idle:
                return
            for key, _ in events:
                if key.data == "accept":
                    last = time.monotonic()
                    try:
                        conn, _ = server.accept()
                    except OSError:
                        continue
                    pid = _start_child(conn, server, selector, children, (wake_r, wake_w))
                    if pid:
                        children[pid] = conn
                        selector.register(conn, selectors.EVENT_READ, pid)
                        served += 1
                        write_status()
                    else:
                        conn.close()
                elif key.data == "reap":
                    while True:
                        try:
                            os.read(wake_r, 512)
                        except BlockingIOError:
                            break
                    last = _reap(children, selector) or last
                else:
                    _caller_gone(key.fileobj, key.data, children, selector)
    finally:
        if os.getpid() == me:  # a child leaves by os._exit, never through here
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _caller_gone(conn, pid: int, children: dict, selector) -> None:
    """A caller's end readable: its "go" not yet read by the child, or closed before its
    command ended, which means the caller was killed: so is the command, stopped or not."""
    import signal
    import socket
    import time

    try:
        if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
            time.sleep(0.001)  # the child reads it in a moment
            return
    except BlockingIOError:
        return
    except OSError:
        pass
    selector.unregister(conn)
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _reap(children: dict, selector) -> float | None:
    import time

    ended = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        conn = children.pop(pid, None)
        ended = time.monotonic()
        if conn is None:
            continue
        try:
            selector.unregister(conn)
        except (KeyError, ValueError):
            pass  # already, when its caller went
        try:
            conn.sendall(b"X%d\n" % os.waitstatus_to_exitcode(status))
        except OSError:
            pass
        conn.close()
    return ended


def _start_child(conn, server, selector, children: dict, wake: tuple[int, int]) -> int:
    """Read one request from `conn` and fork its command; the child's pid, or 0 when the
    request is refused (another user, another protocol, a broken message)."""
    import socket
    import struct

    fds: list[int] = []
    try:
        conn.settimeout(5.0)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return 0
        message, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        if len(message) < 8 or len(fds) != 3:
            return 0
        length = int.from_bytes(message[:8], "big")
        body = message[8:]
        while len(body) < length:
            chunk = conn.recv(min(1 << 20, length - len(body)))
            if not chunk:
                return 0
            body += chunk
        request = marshal.loads(body)
        if request.get("protocol") != PROTOCOL:
            return 0
        conn.settimeout(None)
        pid = os.fork()
        if pid == 0:
            for other in (server, *children.values()):
                other.close()
            for fd in _held:
                os.close(fd)
            selector.close()
            for fd in wake:
                os.close(fd)
            _become(request, fds, conn)  # never returns
        return pid
    except (OSError, ValueError, EOFError, TypeError, KeyError, AttributeError):
        return 0
    finally:
        for fd in fds:
            os.close(fd)


def _become(request: dict, fds: list[int], conn) -> None:
    """In the forked child: take on the caller's process state, say so (b"P<pid>"), run
    its command, exit. A child that fails before saying so leaves the caller free to run the
    command itself."""
    import atexit
    import io
    import locale
    import signal
    import threading

    try:
        signal.set_wakeup_fd(-1)
        for name in ("SIGCHLD", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in request["ignored"]:
            signal.signal(signum, signal.SIG_IGN)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        fds.clear()
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        try:
            locale.setlocale(locale.LC_CTYPE, "")
        except locale.Error:
            pass
        streams = []
        for fd, (encoding, errors, line_buffering, write_through) in enumerate(request["stdio"]):
            raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
            buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
            streams.append(
                io.TextIOWrapper(
                    buffered,
                    encoding=encoding,
                    errors=errors,
                    newline="\n",  # as Python's own standard streams on POSIX
                    line_buffering=line_buffering,
                    write_through=write_through,
                )
            )
        sys.stdin, sys.stdout, sys.stderr = streams
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams
        sys.argv = list(request["argv"])
        conn.sendall(b"P%d\n" % os.getpid())
        conn.settimeout(30.0)
        if conn.recv(1) != b"G":
            os._exit(1)  # the caller gave up waiting and runs the command itself
        conn.close()
    except BaseException:  # noqa: BLE001 - the child must never return into the server's loop
        os._exit(1)
    try:
        code = _run_command()
    except KeyboardInterrupt:  # between "go" and the command's own handling of it
        code = 130
    except BaseException:  # noqa: BLE001
        code = 1
    finally:
        try:
            threading._shutdown()  # type: ignore[attr-defined] - as interpreter exit does
            atexit._run_exitfuncs()
        except BaseException:  # noqa: BLE001, S110
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - a closed pipe: as Python reports it
                code = code or 120
        os._exit(code)


def _run_command() -> int:
    """The command in this process, as `python -m complaintforms` would run it: its exit
    code (a traceback for a bug, as Python prints one, and 1)."""
    try:
        from complaintforms.cli import main as cli_main

        cli_main()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        import traceback

        traceback.print_exc()
        return 130
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    serve(sys.argv[1], float(os.environ.get("COMPLAINTFORMS_COMMAND_SERVER_IDLE", DEFAULT_IDLE)))
