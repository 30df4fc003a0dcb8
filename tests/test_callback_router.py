"""The callback router: the platforms' URLs answered ahead of Flask, everything else Flask's."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client, EnvironBuilder

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks import router as router_module
from bot.inbound.callbacks.common import Call, Reply
from bot.inbound.callbacks.router import CallbackRouter, call_of
from bot.inbound.callbacks.verify import CallbackRejected
from bot.web.hardening import HEADERS


def environ(path: str, data: bytes = b"", **extra: Any) -> dict[str, Any]:
    env: dict[str, Any] = EnvironBuilder(path=path, method="POST", data=data).get_environ()
    env.update(extra)
    return env


def test_arguments_are_the_first_of_each_name_as_flask_gives_them() -> None:
    path = "/wecom/callback?nonce=1&nonce=2&echostr=&t=%E4%B8%AD"
    call = call_of({}, environ(path, REMOTE_ADDR="10.1.2.3"))
    assert call.args == {"nonce": "1", "echostr": "", "t": "中"}
    assert call.remote_addr == "10.1.2.3"
    # WSGI gives the query string as latin-1; unescaped UTF-8 in it is read as UTF-8.
    raw = environ("/x", QUERY_STRING="t=中文&s=a+b".encode().decode("latin-1"))
    assert call_of({}, raw).args == {"t": "中文", "s": "a b"}


def test_the_body_is_read_up_to_its_limit_and_no_further() -> None:
    assert call_of({}, environ("/x", b"hello")).body(5) == b"hello"
    with pytest.raises(CallbackRejected) as refused:
        call_of({}, environ("/x", b"hello!")).body(5)  # said so by Content-Length
    assert refused.value.status == 413
    # A chunked body (no length; the server says where it ends) is read to limit + 1.
    chunked = environ("/x", CONTENT_LENGTH="", **{"wsgi.input_terminated": True})
    chunked["wsgi.input"] = io.BytesIO(b"x" * 100)
    with pytest.raises(CallbackRejected):
        call_of({}, chunked).body(10)
    chunked["wsgi.input"] = io.BytesIO(b"x" * 10)
    assert call_of({}, chunked).body(10) == b"x" * 10


def test_without_a_length_from_a_server_that_does_not_end_the_input_nothing_is_read() -> None:
    class Endless(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("read past the request: it would wait for ever")

    for length in ("", "not a number"):
        env = environ("/x", CONTENT_LENGTH=length)
        env["wsgi.input"] = Endless()
        assert call_of({}, env).body(10) == b""
    assert call_of({}, environ("/x", CONTENT_LENGTH="-5")).body(10) == b""


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, Client, list[str]]:
    """A router over a stand-in app, with one callback URL whose endpoint does as told."""
    app = Flask("router-test")
    passed: list[str] = []

    def rest(env: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        passed.append(env["PATH_INFO"])
        start_response("204 No Content", [])
        return []

    def endpoint(call: Call) -> Reply:
        what = call.args.get("do", "")
        if what == "db-down":
            raise DatabaseUnavailable("connection refused")
        if what == "db-error":
            raise OperationalError("SELECT 1", {}, Exception("server has gone away"))
        if what == "bug":
            raise ValueError("a bug")
        return Reply(f"ok {call.body(100).decode()}", mimetype="application/xml")

    monkeypatch.setattr(router_module, "ROUTES", {"/cb": {"GET": endpoint, "POST": endpoint}})
    return app, Client(CallbackRouter(app, rest)), passed  # type: ignore[arg-type]


def test_callbacks_are_answered_here_with_every_security_header(
    routed: tuple[Flask, Client, list[str]],
) -> None:
    _, client, passed = routed
    r = client.post("/cb", data=b"body")
    assert r.status_code == 200 and r.get_data() == b"ok body"
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert r.headers["Content-Length"] == "7"
    for name, value in HEADERS.items():
        assert r.headers[name] == value
    assert passed == []  # the app never saw it
    assert client.get("/ledger").status_code == 204 and passed == ["/ledger"]


def test_head_answers_as_get_without_a_body_and_other_methods_are_405(
    routed: tuple[Flask, Client, list[str]],
) -> None:
    _, client, _ = routed
    head = client.head("/cb")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == "3"  # what GET would send
    put = client.put("/cb")
    assert put.status_code == 405 and put.headers["Allow"] == "HEAD, GET, POST"


def test_a_database_that_is_down_is_503_so_the_platform_retries(
    routed: tuple[Flask, Client, list[str]],
) -> None:
    _, client, _ = routed
    for what in ("db-down", "db-error"):
        r = client.post(f"/cb?do={what}")
        assert r.status_code == 503 and r.get_data() == b"database unavailable"


def test_an_endpoint_error_is_a_logged_500_or_raised_in_testing_mode(
    routed: tuple[Flask, Client, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    app, client, _ = routed
    with caplog.at_level(logging.ERROR, logger="bot.inbound.callbacks"):
        r = client.post("/cb?do=bug")
    assert r.status_code == 500 and r.get_data() == b"internal error"
    assert "callback failed: POST /cb" in caplog.text and "a bug" in caplog.text
    app.testing = True
    with pytest.raises(ValueError, match="a bug"):
        client.post("/cb?do=bug")
