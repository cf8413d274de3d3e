"""A warm render process, so that one document does not pay for starting WeasyPrint.

A command that renders one case's forms (case new, slip issue, ...) spends most of its time
importing WeasyPrint (about 0.3 s) and loading fonts for its first PDF (about 0.15 s); the
PDF itself takes under 0.1 s once warm. So the first such command renders in-process as
always and then starts this server in the background; later commands send the filled-in
values over a Unix socket and get the finished files back. The server renders nothing but
the forms of the workspace it was started for, serves only its own user, and leaves after
ten idle minutes (COMPLAINTFORMS_RENDER_SERVER_IDLE, seconds).

The client never depends on it: no server, a stale one, a crash or a timeout all mean the
document is rendered in-process as before. Its socket name carries a fingerprint of the code,
the forms folder, the font and forms.css, so an upgrade or an edited stylesheet gets a new
server. COMPLAINTFORMS_RENDER_SERVER=0 turns it off.

Run as `python -m complaintforms.documents.server FORMS_DIR FONT_FAMILY SOCKET [WORKERS]`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import signal
import socket
import struct
import sys
import time
from pathlib import Path

from complaintforms import runtime
from complaintforms.errors import ComplaintFormsError, RenderError

# 2: a refused form comes back as the error itself (message id and values), not its text.
PROTOCOL = 2
DEFAULT_IDLE = 600.0
TIMEOUT = 120.0
# socket -> when this process last started a server for it: once, or again a while after
# (a long-lived web server outlives a server that left when idle).
_started: dict[str, float] = {}
RESTART_AFTER = 30.0
# What `serve` (the web) asks for: more workers, and to wait for a server rather than render
# in the web server's own process (which would then hold WeasyPrint and its fonts too).
_preferred = {"workers": 1, "wait": 0.0}


def prefer(*, workers: int, wait: float) -> None:
    """For a long-lived process: render servers of `workers` workers, waited for up to
    `wait` seconds when none runs."""
    _preferred.update(workers=workers, wait=wait)


def enabled() -> bool:
    return os.environ.get("COMPLAINTFORMS_RENDER_SERVER", "1") != "0" and hasattr(socket, "AF_UNIX")


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """Sizes and times of the package's modules: a changed module means a new server."""
    package = Path(__file__).resolve().parent.parent
    parts = [sys.executable, sys.version]
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        parts.append(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def run_dir() -> Path:
    return Path(runtime.run_dir())


def _private(path: Path) -> bool:
    return runtime.private(str(path))


def socket_path(forms_dir: Path, family: str) -> Path:
    forms_dir = Path(forms_dir).resolve()
    css = forms_dir / "forms.css"
    css_stamp = f"{css.stat().st_mtime_ns}:{css.stat().st_size}" if css.is_file() else "-"
    key = hashlib.sha256(
        f"{PROTOCOL}|{_code_fingerprint()}|{forms_dir}|{family}|{css_stamp}|{os.getuid()}".encode()
    ).hexdigest()[:20]
    return run_dir() / f"render-{key}.sock"


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack("!Q", len(payload)) + payload)


def _receive(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise ConnectionError("closed")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    (length,) = struct.unpack("!Q", exactly(8))
    return exactly(length)


def render(
    forms_dir: Path, family: str, spec, context: dict, formats: tuple[str, ...]
) -> dict[str, bytes] | None:
    """The rendered files from a running server, or None (render in-process instead).

    A form the server refuses (a missing glyph, a bad template) raises the same error
    (RenderError) as the in-process renderer would."""
    if not enabled():
        return None
    path = socket_path(forms_dir, family)
    if len(os.fsencode(str(path))) > 100 or not path.exists() or not _private(path.parent):
        return None
    # The PDF on one connection and the other formats on another: a server of two workers
    # renders them at once (one worker answers them in turn, as before).
    split = (tuple(f for f in formats if f == "pdf"), tuple(f for f in formats if f != "pdf"))
    jobs = [job for job in split if job]
    socks: list[socket.socket] = []
    try:
        try:
            for job in jobs:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                socks.append(sock)
                sock.settimeout(TIMEOUT)
                sock.connect(str(path))
                _send(sock, pickle.dumps((PROTOCOL, spec, context, job)))
            replies = [pickle.loads(_receive(sock)) for sock in socks]
        except (OSError, EOFError, pickle.PickleError, ValueError, TypeError, AttributeError):
            return None  # whatever went wrong, the caller renders in-process
    finally:
        for sock in socks:
            sock.close()
    files: dict[str, bytes] = {}
    for status, value in replies:
        if status == "refused":
            raise value if isinstance(value, ComplaintFormsError) else RenderError(str(value))
        if status != "ok":
            return None  # the server failed: the in-process renderer will say why
        files.update(value)
    return {fmt: files[fmt] for fmt in formats}


def waits() -> bool:
    """Whether this process waits for a render server rather than render in-process."""
    return enabled() and _preferred["wait"] > 0


def start(
    forms_dir: Path, family: str, *, workers: int | None = None, wait: float | None = None
) -> None:
    """Start a server for `forms_dir` in the background (once per process, or again when
    the last one has left), with `workers` render processes (default: as `prefer` set, else
    one). With `wait`, return once it listens or after that many seconds."""
    if not enabled():
        return
    workers = _preferred["workers"] if workers is None else workers
    wait = _preferred["wait"] if wait is None else wait
    path = socket_path(forms_dir, family)
    if len(os.fsencode(str(path))) > 100:
        return
    now = time.monotonic()
    running = status(forms_dir, family)
    if running is not None and len(running.get("workers") or [0]) < workers and wait:
        # Started by a command, with one worker; a web server wants its own.
        with contextlib.suppress(OSError):
            os.kill(int(running["pid"]), signal.SIGTERM)
        for _ in range(50):
            if status(forms_dir, family) is None:
                break
            time.sleep(0.1)
        running, _started[str(path)] = None, now - RESTART_AFTER
    if running is None and (
        str(path) not in _started or now - _started[str(path)] >= RESTART_AFTER
    ):
        _started[str(path)] = now
        if not _private(path.parent):
            return
        if not runtime.detach(
            "complaintforms.documents.server", str(forms_dir), family, str(path), str(workers)
        ):
            return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and status(forms_dir, family) is None:
        time.sleep(0.1)


def status(forms_dir: Path, family: str) -> dict | None:
    """What the server for `forms_dir` last wrote about itself, when one is running."""
    path = socket_path(forms_dir, family)
    try:
        info = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if path.exists() else None


def serve(forms_dir: Path, family: str, path: Path, idle: float, workers: int = 1) -> None:
    """Render on `path` until `idle` seconds pass with no request. With several workers, the
    warmed-up process forks the others after it listens: they share its fonts and parsed
    stylesheet (copy-on-write) and take connections from the same socket, and they leave
    when it does."""
    import fcntl
    import mmap

    # A plain kill ends the server through its `finally`, which removes the socket.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    lock = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server for the same forms is running or starting
    from complaintforms.documents.render import RendererSet, portable, quieter_gc, render_all

    renderers = RendererSet(forms_dir)
    renderers.get("pdf").warm_up(family)  # before the first request arrives
    renderers.get("docx")
    quieter_gc()
    with contextlib.suppress(OSError):
        # Below the processes it renders for: on a busy machine a page of the web
        # interface is answered before a card is finished, not after.
        os.nice(int(os.environ.get("COMPLAINTFORMS_RENDER_NICE", "5")))

    try:
        path.unlink()
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old_mask)
    server.listen(16)
    server.settimeout(min(idle, 2.0))
    info_path = path.with_suffix(".json")
    # Shared by the workers: when any of them last served (seconds since the epoch), then
    # each one's pid and how many requests it has served.
    n = max(1, workers)
    shared = mmap.mmap(-1, 8 * (1 + 2 * n))
    shared[:8] = struct.pack("d", time.time())
    slot = 0
    parent = os.getpid()
    children: list[int] = []
    for k in range(1, n):
        pid = os.fork()
        if pid == 0:
            children, slot = [], k
            break
        children.append(pid)
        shared[8 + 8 * k : 16 + 8 * k] = struct.pack("q", pid)
    is_parent = os.getpid() == parent
    if is_parent:
        shared[8:16] = struct.pack("q", parent)

    def write_info() -> None:
        tmp = info_path.with_suffix(f".json.{os.getpid()}.tmp")
        pids = [p for p in struct.unpack(f"{n}q", shared[8 : 8 + 8 * n]) if p]
        info = {"pid": parent, "workers": pids, "forms": str(forms_dir)}
        served = sum(struct.unpack(f"{n}q", shared[8 + 8 * n :]))
        tmp.write_text(json.dumps({**info, "served": served, "at": time.time()}), encoding="utf-8")
        os.replace(tmp, info_path)

    if is_parent:
        write_info()
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                if not is_parent and os.getppid() != parent:
                    os._exit(0)  # the first worker is gone
                if time.time() - struct.unpack("d", shared[:8])[0] >= idle:
                    if is_parent:
                        return
                    os._exit(0)
                continue
            shared[:8] = struct.pack("d", time.time())
            with conn:
                conn.settimeout(TIMEOUT)
                if not _same_user(conn):
                    continue
                try:
                    version, spec, context, formats = pickle.loads(_receive(conn))
                    if version != PROTOCOL:
                        reply = ("failed", "protocol")
                    else:
                        reply = ("ok", render_all(renderers, spec, context, formats))
                except ComplaintFormsError as exc:
                    reply = ("refused", portable(exc))
                except Exception as exc:  # noqa: BLE001 - the client renders it again itself
                    reply = ("failed", f"{type(exc).__name__}: {exc}")
                try:
                    _send(conn, pickle.dumps(reply))
                except OSError:
                    pass
                at = 8 + 8 * (n + slot)
                shared[at : at + 8] = struct.pack(
                    "q", struct.unpack("q", shared[at : at + 8])[0] + 1
                )
                shared[:8] = struct.pack("d", time.time())
                write_info()
    finally:
        if not is_parent:
            os._exit(0)  # a forked worker never runs its parent's cleanup
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for leftover in (path, info_path):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass


def _same_user(conn: socket.socket) -> bool:
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return False
    _, uid, _ = struct.unpack("3i", creds)
    return uid == os.getuid()


def main(argv: list[str]) -> None:
    forms_dir, family, path = Path(argv[0]), argv[1], Path(argv[2])
    workers = int(argv[3]) if len(argv) > 3 else 1
    idle = float(os.environ.get("COMPLAINTFORMS_RENDER_SERVER_IDLE", DEFAULT_IDLE))
    serve(forms_dir, family, path, idle, workers)


if __name__ == "__main__":
    main(sys.argv[1:])
