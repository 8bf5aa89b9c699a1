"""What keeps the phone diary private on a home network.

* An unguessable access token per trial, in ``web-token`` in the workspace (mode 0600),
  rotated with ``nof1 serve --new-token``. The printed URL carries it once (``/login?token=``);
  the server answers with an HttpOnly, SameSite=Strict session cookie derived from it and
  redirects to a URL without it. Rotating the token ends every session.
* Every comparison of a secret is constant-time (:func:`hmac.compare_digest`).
* :class:`Guard` (ASGI middleware, outermost): the Host header must be the address the server
  listens on (DNS rebinding), a POST must come from the diary's own pages (``Sec-Fetch-Site``,
  else the Origin header), every page except the login and the static assets
  needs the session cookie (401 without it, with no diary data), and every response carries
  the security headers (CSP ``default-src 'self'``, ``frame-ancestors 'none'``, no referrer,
  nosniff).
* Bodies over :data:`MAX_BODY` are refused with 413 (Starlette's body limit).
* Each form carries its own CSRF token (:meth:`Keys.csrf`), checked on submission.
* :class:`Attempts` limits failed token attempts per client and overall.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import stat
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from nof1 import files
from nof1.errors import Nof1Error

TOKEN_FILE = "web-token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")

#: Largest request body accepted (a diary form is well under 4 KiB).
MAX_BODY = 64 * 1024
#: Failed token attempts allowed per client, and from all clients together, per window.
MAX_FAILURES_PER_CLIENT = 5
MAX_FAILURES_TOTAL = 20
FAILURE_WINDOW_SECONDS = 600.0
#: How long the phone stays signed in (a trial lasts months; rotating the token ends it).
SESSION_SECONDS = 90 * 24 * 3600

#: Paths served without a session: the login and assets that hold no diary data.
PUBLIC_PATHS = ("/login", "/static/", "/manifest.webmanifest", "/favicon.ico")

CSP = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
#: The written HTML reports carry their own inline styles and embedded (data:) figures; they
#: get no scripts at all.
REPORT_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class WebError(Nof1Error, ValueError):
    """A problem with the web server's set-up (token file, address)."""


# --------------------------------------------------------------------------------------------
# The access token
# --------------------------------------------------------------------------------------------


def token_path(workspace: Path) -> Path:
    return Path(workspace) / TOKEN_FILE


def load_token(workspace: Path, *, new: bool = False) -> tuple[str, bool]:
    """The trial's access token and whether it was just made (first run or ``new``).

    Raises
    ------
    WebError
        When the token file can be read by others (it may have leaked: make a new one) or is
        damaged.
    """
    path = token_path(workspace)
    if new or not path.exists():
        token = secrets.token_urlsafe(32)
        files.write_private(path, token + "\n", force=True)  # owner-only, atomic, no links
        return token, True
    if path.is_symlink():
        raise WebError(
            f"{path} is a symbolic link: remove it and run `nof1 serve --new-token` to make a "
            "new access token"
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise WebError(
            f"{path} can be read by other users (mode {mode:o}, must be 600): the access token "
            "may have leaked; run `nof1 serve --new-token` to replace it"
        )
    token = path.read_text(encoding="ascii", errors="replace").strip()
    if not _TOKEN.match(token):
        raise WebError(
            f"{path} does not hold a valid access token: run `nof1 serve --new-token` to make "
            "a new one"
        )
    return token, False


class Keys:
    """Secrets derived from the access token: the session cookie value and CSRF tokens."""

    def __init__(self, token: str, port: int) -> None:
        self._key = token.encode("ascii")
        #: cookies are shared by every port of a host: one name per served port
        self.cookie_name = f"nof1_session_{port}"
        self.session = self._derive("session")

    def _derive(self, purpose: str) -> str:
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(
            hashlib.sha256(candidate.encode("utf-8", "replace")).digest(),
            hashlib.sha256(self._key).digest(),
        )

    def session_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self.session.encode())

    def csrf(self, form: str) -> str:
        """The CSRF token of one form (``diary``, ``event``, ``correct``)."""
        return self._derive(f"csrf:{form}")

    def csrf_ok(self, form: str, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self.csrf(form).encode())

    def cookie_header(self) -> str:
        return (
            f"{self.cookie_name}={self.session}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; "
            "SameSite=Strict"
        )


class Attempts:
    """Failed token attempts in the last :data:`FAILURE_WINDOW_SECONDS`, per client and total."""

    def __init__(
        self,
        per_client: int = MAX_FAILURES_PER_CLIENT,
        total: int = MAX_FAILURES_TOTAL,
        window: float = FAILURE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client, self.total, self.window, self.clock = per_client, total, window, clock
        self._failures: deque[tuple[float, str]] = deque()

    def _expire(self) -> None:
        cutoff = self.clock() - self.window
        while self._failures and self._failures[0][0] < cutoff:
            self._failures.popleft()

    def blocked(self, client: str) -> bool:
        self._expire()
        mine = sum(1 for _, c in self._failures if c == client)
        return mine >= self.per_client or len(self._failures) >= self.total

    def fail(self, client: str) -> None:
        self._expire()
        self._failures.append((self.clock(), client))


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """Host header values accepted: the address served, plus localhost for 127.0.0.1."""
    hosts = {f"{host}:{port}"}
    if host in ("127.0.0.1", "localhost"):
        hosts |= {f"127.0.0.1:{port}", f"localhost:{port}"}
    return frozenset(hosts)


# --------------------------------------------------------------------------------------------
# The guard middleware
# --------------------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Guard:
    """Host/Origin checks, session requirement and security headers (ASGI). The body limit is
    Starlette's own (``Starlette(max_body_size=MAX_BODY)``, inside this guard)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: Keys,
        hosts: frozenset[str],
        unauthorized: Callable[[], bytes] | None = None,
    ) -> None:
        self.app, self.keys, self.hosts = app, keys, hosts
        self.unauthorized = unauthorized or (lambda: b"Sign in with the link nof1 serve printed.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("path", "")
        host = headers.get("host", "")
        if host not in self.hosts:
            await _plain(send, 400, "Wrong host: open the address that nof1 serve printed.")
            return
        if scope["method"] not in ("GET", "HEAD", "POST"):
            await _plain(send, 405, "Method not allowed.")
            return
        if scope["method"] == "POST" and not self._same_origin(headers):
            await _plain(send, 403, "Cross-site request refused.")
            return
        if not path.startswith(PUBLIC_PATHS) and not self._signed_in(headers.get("cookie", "")):
            await _respond(send, 401, "text/html; charset=utf-8", self.unauthorized())
            return

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.decode("latin-1").lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, secured_send)

    def _same_origin(self, headers: dict[str, str]) -> bool:
        """Whether a POST comes from this diary's own pages.

        Browsers say so in ``Sec-Fetch-Site`` (fetch metadata). With ``Referrer-Policy:
        no-referrer`` Chromium sends ``Origin: null`` even for a same-origin form, so the
        Origin is checked only when fetch metadata is absent; a request with neither (not a
        browser) still needs the form's CSRF token.
        """
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site == "same-origin"
        origin = headers.get("origin")
        return origin is None or origin.removeprefix("http://") in self.hosts

    def _signed_in(self, cookie_header: str) -> bool:
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(cookie_header)
        except Exception:  # a malformed Cookie header is simply not signed in
            return False
        morsel = cookie.get(self.keys.cookie_name)
        return morsel is not None and self.keys.session_ok(morsel.value)


async def _plain(send: Send, status: int, text: str) -> None:
    await _respond(send, status, "text/plain; charset=utf-8", text.encode())


async def _respond(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
