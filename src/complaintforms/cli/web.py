"""`serve`: the web interface of the workspace, with a production HTTP server (waitress)."""

from __future__ import annotations

import os

import click

from complaintforms.cli.base import State, cli, pass_state, tr


@cli.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every address of this machine, for the office LAN).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests served at once.",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="Trust X-Forwarded-For/-Proto/-Host from a reverse proxy on this machine (TLS there: "
    "the session cookie is then marked Secure).",
)
@pass_state
def serve(state: State, host: str, port: int, threads: int, behind_proxy: bool) -> None:
    """Serve the whole procedure to browsers, in the workspace's language. Users: `user add`."""
    import waitress

    from complaintforms.documents import server as renderd
    from complaintforms.web import create_app

    ws = state.ws
    app = create_app(ws.root)
    # Registrations come several at once: two render processes, started now (not by the
    # first registration, which would render in this process and keep WeasyPrint here).
    renderd.prefer(workers=min(2, os.cpu_count() or 1), wait=30.0)
    renderd.start(ws.forms_dir, ws.config.font_sans)
    options: dict = {"host": host, "port": port, "threads": threads, "ident": "complaintforms"}
    if behind_proxy:
        options.update(
            trusted_proxy="127.0.0.1,::1",
            trusted_proxy_headers="x-forwarded-for x-forwarded-proto x-forwarded-host",
            clear_untrusted_proxy_headers=True,
        )
    click.echo(
        tr(
            "serving {root} at http://{host}:{port}/ (Ctrl-C stops)",
            root=str(state.ws.root),
            host=host,
            port=port,
        ),
        err=True,
    )
    waitress.serve(app, **options)
