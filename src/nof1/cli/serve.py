"""``nof1 serve``: the diary as a private web page for the phone (see :mod:`nof1.web`).

The web stack (Starlette, uvicorn, segno) is imported inside the command only: ``nof1 log`` and
the other daily commands never load it.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer

from nof1.cli.base import TrialOption, app, err, handle_errors
from nof1.errors import Nof1Error
from nof1.workspace import Workspace

LOCALHOST = "127.0.0.1"
DEFAULT_PORT = 8765


class ServeError(Nof1Error, ValueError):
    """The server cannot start (address, port)."""


def lan_address() -> str:
    """This computer's address on the local network (the one its default route uses).

    Connecting a UDP socket sends nothing; it only makes the system pick the outgoing address.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, nothing is sent
        address = str(probe.getsockname()[0])
    except OSError:
        address = ""
    finally:
        probe.close()
    return address


def check_lan(address: str) -> str:
    """The LAN address to listen on, or :class:`ServeError` when there is none usable."""
    if not address or address.startswith("127.") or address == "0.0.0.0":
        raise ServeError(
            "no local network address found (got "
            f"{address or 'none'}): connect this computer to your home network, or run "
            "`nof1 serve` without --lan to use the diary on this computer only"
        )
    return address


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
            raise ServeError(
                f"port {port} on {host} {why}: pick another with --port, e.g. --port {port + 1}"
            ) from None


@app.command()
@handle_errors
def serve(
    trial: TrialOption = Path("."),
    port: Annotated[
        int,
        typer.Option("--port", "-p", min=1024, max=65535, help="Port to listen on."),
    ] = DEFAULT_PORT,
    lan: Annotated[
        bool,
        typer.Option(
            "--lan",
            help="Listen on this computer's home-network address (not only 127.0.0.1) and print "
            "the link as a QR code for the phone.",
        ),
    ] = False,
    new_token: Annotated[
        bool,
        typer.Option(
            "--new-token",
            help="Replace the access token: old links, QR codes and phone sessions stop working.",
        ),
    ] = False,
) -> None:
    """Serve the daily diary as a private web page for your phone (Ctrl-C stops it).

    Pages: today, the diary form, side effects, progress, correcting a day and the written
    reports. Without --lan the page is only reachable from this computer (127.0.0.1); with
    --lan, phones on the same home network can open it. The printed link carries the trial's
    access token once (kept owner-only in the workspace); the phone then stays signed in.
    Nothing leaves your network: no account, no cloud.
    """
    import segno
    import uvicorn

    from nof1.web.app import create_app
    from nof1.web.security import load_token, token_path

    with Workspace.open(trial) as ws:
        title = ws.protocol.title
        folder = ws.path
    host = check_lan(lan_address()) if lan else LOCALHOST
    check_port_free(host, port)
    token, made = load_token(folder, new=new_token)
    url = f"http://{host}:{port}/login?token={token}"
    if made:
        print(f"New access token written to {token_path(folder)} (owner-only).")
    print(f"Diary of {title!r} at http://{host}:{port}/")
    where = "on your phone" if lan else "in a browser on this computer"
    print(f"Open this link once {where} to sign in (it holds the access token):\n  {url}")
    if lan:
        qr = segno.make(url, error="m")
        qr.terminal(compact=True)
        print(
            "Scan the code with the phone's camera. Anyone on this network who gets the link "
            "can read and write the diary: keep it private (nof1 serve --new-token replaces it)."
        )
    print("Ctrl-C stops the server.")
    app_ = create_app(folder, token=token, host=host, port=port)
    config = uvicorn.Config(
        app_,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # the sign-in link carries the token: never log request lines
        proxy_headers=False,  # the failed-attempt limit trusts the socket's address only
        server_header=False,
        limit_concurrency=32,
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run()
    err("Server stopped.")
