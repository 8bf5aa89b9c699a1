"""``nof1 serve``: addresses, token, QR code, port checks. No server is started here: uvicorn's
``Server.run`` is replaced, and ``--lan`` uses a mocked address (never a real LAN socket)."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nof1.cli import app
from nof1.cli import serve as serve_module
from nof1.web.security import token_path


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace uvicorn's Server.run: record the config instead of listening."""
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(self: Any, sockets: Any = None) -> None:
        seen["config"] = self.config

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    return seen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["serve", "--trial", str(folder), *args])


def test_serve_listens_on_localhost_by_default(started: Path, captured: dict[str, Any]) -> None:
    port = free_port()
    result = serve(started, "--port", str(port))
    assert result.exit_code == 0, result.output
    config = captured["config"]
    assert (config.host, config.port) == ("127.0.0.1", port)
    assert config.access_log is False  # the sign-in link carries the token
    assert config.proxy_headers is False
    token = token_path(started).read_text().strip()
    assert f"http://127.0.0.1:{port}/login?token={token}" in result.stdout
    assert stat.S_IMODE(token_path(started).stat().st_mode) == 0o600
    assert "█" not in result.stdout and "▀" not in result.stdout  # no QR code without --lan


def test_serve_lan_uses_the_lan_address_and_prints_a_qr_code(
    started: Path, captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_module, "lan_address", lambda: "192.168.1.20")
    monkeypatch.setattr(serve_module, "check_port_free", lambda host, port: None)
    result = serve(started, "--lan", "--port", "8800")
    assert result.exit_code == 0, result.output
    assert captured["config"].host == "192.168.1.20"
    token = token_path(started).read_text().strip()
    assert f"http://192.168.1.20:8800/login?token={token}" in result.stdout
    assert any(ch in result.stdout for ch in "█▀▄")  # the QR code, in the terminal
    assert "keep it private" in result.stdout


def test_serve_keeps_the_token_and_new_token_replaces_it(
    started: Path, captured: dict[str, Any]
) -> None:
    port = str(free_port())
    first = serve(started, "--port", port)
    token = token_path(started).read_text().strip()
    assert "New access token" in first.stdout
    again = serve(started, "--port", port)
    assert token_path(started).read_text().strip() == token
    assert "New access token" not in again.stdout
    rotated = serve(started, "--port", port, "--new-token")
    assert rotated.exit_code == 0
    assert token_path(started).read_text().strip() != token
    assert "New access token" in rotated.stdout


@pytest.mark.parametrize("address", ["", "127.0.1.1", "0.0.0.0"])
def test_serve_lan_without_a_network_address_is_refused(
    started: Path, captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    monkeypatch.setattr(serve_module, "lan_address", lambda: address)
    result = serve(started, "--lan")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no local network address found")
    assert "config" not in captured


def test_serve_refuses_a_port_in_use(started: Path, captured: dict[str, Any]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = serve(started, "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: port {port} on 127.0.0.1 is in use: pick another with --port, e.g. --port "
        f"{port + 1}\n"
    )
    assert "config" not in captured


@pytest.mark.parametrize("port", ["80", "0", "70000", "http"])
def test_serve_refuses_a_bad_port(started: Path, captured: dict[str, Any], port: str) -> None:
    result = serve(started, "--port", port)
    assert result.exit_code == 2
    assert "config" not in captured


def test_serve_outside_a_workspace_is_an_error(tmp_path: Path, captured: dict[str, Any]) -> None:
    result = serve(tmp_path)
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
    assert not token_path(tmp_path).exists()


def test_serve_refuses_a_leaked_token_file(started: Path, captured: dict[str, Any]) -> None:
    port = str(free_port())
    serve(started, "--port", port)
    token_path(started).chmod(0o644)
    result = serve(started, "--port", port)
    assert result.exit_code == 1
    assert "can be read by other users (mode 644, must be 600)" in result.stderr
    assert "run `nof1 serve --new-token`" in result.stderr


def test_lan_address_sends_nothing_and_returns_text() -> None:
    address = serve_module.lan_address()  # a UDP connect only picks the outgoing address
    assert isinstance(address, str)
