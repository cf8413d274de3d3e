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

Run as `python -m complaintforms.renderd FORMS_DIR FONT_FAMILY SOCKET`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from complaintforms.errors import ComplaintFormsError, RenderError

# 2: a refused form comes back as the error itself (message id and values), not its text.
PROTOCOL = 2
DEFAULT_IDLE = 600.0
TIMEOUT = 120.0
_started: set[str] = set()


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
    """Where sockets live: short (a socket path has at most 107 bytes) and private to the
    user, like tmux's /tmp/tmux-UID."""
    if os.environ.get("COMPLAINTFORMS_RUN_DIR"):
        return Path(os.environ["COMPLAINTFORMS_RUN_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "complaintforms"
    return Path("/tmp") / f"complaintforms-{os.getuid()}"


def _private(path: Path) -> bool:
    """The run folder exists, belongs to this user and nobody else may enter it."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        stat = path.lstat()
    except OSError:
        return False
    return stat.st_uid == os.getuid() and stat.st_mode & 0o077 == 0 and path.is_dir()


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
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(str(path))
            _send(sock, pickle.dumps((PROTOCOL, spec, context, tuple(formats))))
            status, value = pickle.loads(_receive(sock))
    except (OSError, EOFError, pickle.PickleError, ValueError, TypeError, AttributeError):
        return None  # whatever went wrong, the caller renders in-process
    if status == "ok":
        return value
    if status == "refused":
        raise value if isinstance(value, ComplaintFormsError) else RenderError(str(value))
    return None  # the server failed: the in-process renderer will say why


def start(forms_dir: Path, family: str) -> None:
    """Start a server for `forms_dir` in the background (once per process)."""
    if not enabled():
        return
    path = socket_path(forms_dir, family)
    if str(path) in _started or len(os.fsencode(str(path))) > 100:
        return
    _started.add(str(path))
    if not _private(path.parent):
        return
    try:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "complaintforms.documents.server",
                str(forms_dir),
                family,
                str(path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            cwd="/",
        )
    except OSError:
        pass


def status(forms_dir: Path, family: str) -> dict | None:
    """What the server for `forms_dir` last wrote about itself, when one is running."""
    path = socket_path(forms_dir, family)
    try:
        info = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if path.exists() else None


def serve(forms_dir: Path, family: str, path: Path, idle: float) -> None:
    import fcntl
    import signal

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
    server.settimeout(idle)
    served = 0
    info_path = path.with_suffix(".json")

    def write_info() -> None:
        tmp = info_path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps(
                {"pid": os.getpid(), "forms": str(forms_dir), "served": served, "at": time.time()}
            ),
            encoding="utf-8",
        )
        os.replace(tmp, info_path)

    write_info()
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                return
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
                served += 1
                write_info()
    finally:
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
    idle = float(os.environ.get("COMPLAINTFORMS_RENDER_SERVER_IDLE", DEFAULT_IDLE))
    serve(forms_dir, family, path, idle)


if __name__ == "__main__":
    main(sys.argv[1:])
