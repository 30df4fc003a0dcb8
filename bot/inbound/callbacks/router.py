"""The platforms' callbacks, answered before Flask sees the request.

A callback needs none of what Flask does for the dashboard: no session, no CSRF check, no
signed-in user, no template, no URL converters. Under a burst of reports all of that was
a third of the web process's CPU per callback (bench/bench_callbacks.py), spent on
requests whose whole job is to verify, decrypt, store and acknowledge. So the router
answers the three callback URLs itself, as plain WSGI, and hands every other request to
the Flask app unchanged. The endpoints (wecom.py, aibot.py, wechat.py) read a `Call` and
return a `Reply`; the answers carry the same security headers as every Flask response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.utils import get_content_type
from werkzeug.wsgi import get_content_length, get_input_stream

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks import aibot, wechat, wecom
from bot.inbound.callbacks.common import UNAVAILABLE, Call, Reply
from bot.web.hardening import HEADERS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("bot.inbound.callbacks")

Endpoint = Callable[[Call], Reply]
ROUTES: dict[str, dict[str, Endpoint]] = {
    "/wecom/callback": {"GET": wecom.verify_url, "POST": wecom.receive},
    "/wecom/aibot": {"GET": aibot.verify_url, "POST": aibot.receive},
    "/wechat/callback": {"GET": wechat.verify_url, "POST": wechat.receive},
}
SECURITY_HEADERS = list(HEADERS.items())


class CallbackRouter:
    """WSGI middleware: the callback URLs answered here, everything else by `wrapped`."""

    def __init__(self, app: Flask, wrapped: WSGIApplication) -> None:
        self.app = app  # its extensions hold what callbacks share with routes and tests
        self.wrapped = wrapped

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        routes = ROUTES.get(environ.get("PATH_INFO", ""))
        if routes is None:
            return self.wrapped(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        endpoint = routes.get("GET" if method == "HEAD" else method)
        if endpoint is None:
            reply = Reply("method not allowed", 405)
            extra = [("Allow", ", ".join(["HEAD", *sorted(routes)]))]
        else:
            reply, extra = self.run(endpoint, environ), []
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        status = HTTPStatus(reply.status)
        start_response(
            f"{status.value} {status.phrase}",
            [
                ("Content-Type", get_content_type(reply.mimetype, "utf-8")),  # as Flask
                ("Content-Length", str(len(body))),
                *extra,
                *SECURITY_HEADERS,
            ],
        )
        return [] if method == "HEAD" else [body]

    def run(self, endpoint: Endpoint, environ: WSGIEnvironment) -> Reply:
        try:
            return endpoint(call_of(self.app.extensions, environ))
        except (DatabaseUnavailable, OperationalError) as exc:
            # Not stored, so not acknowledged: the platform retries later.
            log.warning("database unavailable for %s: %s", environ.get("PATH_INFO"), exc)
            return UNAVAILABLE
        except Exception:
            propagate = self.app.config.get("PROPAGATE_EXCEPTIONS")
            if propagate if propagate is not None else self.app.testing or self.app.debug:
                raise  # as Flask does: a test (or the debugger) sees the error itself
            log.exception(
                "callback failed: %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            )
            return Reply("internal error", 500)


def call_of(extensions: dict[str, Any], environ: WSGIEnvironment) -> Call:
    """The request as the endpoints read it: arguments (the first of each name, as Flask's
    request.args.get gives), the client's address and the body, found as werkzeug finds
    them (a chunked body is read to its end; without a length from a server that does not
    say where the input ends, nothing is read: reading on could wait for ever)."""
    # WSGI hands the query string over as latin-1: its bytes are UTF-8.
    query = environ.get("QUERY_STRING", "").encode("latin-1", "replace").decode("utf-8", "replace")
    args: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        args.setdefault(name, value)
    return Call(
        extensions=extensions,
        args=args,
        remote_addr=environ.get("REMOTE_ADDR", ""),
        stream=get_input_stream(environ),
        content_length=get_content_length(environ),
    )
