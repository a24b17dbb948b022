"""The two HTTP routes that set and clear the sign-in cookie (mounted by ``serve.py``).

Streamlit talks to the browser over a WebSocket, which cannot set cookies, and a cookie set by
page JavaScript cannot be ``HttpOnly``. So the page that signed in posts its one-time hand-off
code to ``POST /fangcang/session``; the server answers with the session token in a cookie the
page's scripts can never read (``HttpOnly``), that other sites never make the browser send
(``SameSite=Strict``), and that only travels over HTTPS when the app is served over HTTPS
(``Secure``). ``POST /fangcang/signout`` clears it. Both refuse cross-site requests (the
``Origin`` must be this server). No Streamlit import here: these run in the web server.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from urllib.parse import urlsplit

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fangcang import db, sessions
from fangcang.config import get_settings
from fangcang.timeutil import now_local

log = logging.getLogger(__name__)
SESSION_PATH = "/fangcang/session"
SIGNOUT_PATH = "/fangcang/signout"


@cache
def _engine() -> Engine:
    return db.make_engine()


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # old browsers send none on same-origin POSTs; SameSite still applies
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def _secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    return proto.split(",")[0].strip() == "https"


async def create_session(request: Request) -> Response:
    """Trade ``{"code": ...}`` for the session cookie (204), or 400/403/503 with a reason."""
    if not _same_origin(request):
        return JSONResponse({"error": "cross-site request"}, status_code=403)
    try:
        body = await request.json()
        code = str(body.get("code", ""))
    except (ValueError, AttributeError):
        return JSONResponse({"error": 'expected {"code": ...}'}, status_code=400)

    def work(session):
        return sessions.redeem(session, code)

    try:
        token, expires = await asyncio.to_thread(db.run_write, _engine(), work, what="session")
    except db.DatabaseBusy:
        return JSONResponse({"error": "busy, retry"}, status_code=503)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    response = Response(status_code=204)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=max(int((expires - now_local()).total_seconds()), 0),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def clear_session(request: Request) -> Response:
    """End the session the cookie stands for (if still open) and delete the cookie (204)."""
    if not _same_origin(request):
        return JSONResponse({"error": "cross-site request"}, status_code=403)
    token = request.cookies.get(sessions.COOKIE)
    if token:
        try:
            await asyncio.to_thread(
                db.run_write,
                _engine(),
                lambda s: sessions.revoke_token(s, token, "logout"),
                what="sign-out",
            )
        except db.DatabaseBusy:  # the page revoked it already; the cookie goes anyway
            log.warning("sign-out: could not mark the cookie's session ended (database busy)")
    response = Response(status_code=204)
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def content_security_policy() -> str:
    """The CSP every response carries: images, media, fonts and connections only from this
    server (plus the configured map tile server), no plugins, no foreign framing.

    Defence in depth against markdown or HTML injection: even a data value that slipped
    through unescaped cannot make the browser fetch from another host. Scripts and styles are
    left to Streamlit (its frontend needs its own inline styles).
    """
    own = "'self' data: blob:"
    tiles = ""
    tile_url = get_settings().tile_url
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
            tiles = f" {parts.scheme}://{host}"
    return "; ".join(
        [
            f"img-src {own}{tiles}",
            f"media-src {own}",
            f"font-src {own}",
            "connect-src 'self' ws: wss:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


class SecurityHeaders:
    """ASGI middleware: CSP (:func:`content_security_policy`), no MIME sniffing, no referrer
    to other sites, on every HTTP response."""

    def __init__(self, app) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy().encode("latin-1")),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes() -> list[Route]:
    """The routes ``serve.py`` adds to Streamlit's server."""
    return [
        Route(SESSION_PATH, create_session, methods=["POST"]),
        Route(SIGNOUT_PATH, clear_session, methods=["POST"]),
    ]
