"""Fake WeCom on loopback: tokens with expiry, message/send, appchat/send, group-robot
webhook send and upload, media/get, smart-robot response URLs, WeChat customer-service
messages; documented limits and error codes; injectable faults.

Control endpoints under /_fake/ configure faults and expose what was delivered, so tests can
assert that every message arrived exactly once.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from bot.devtools.fakewecom.cards import card_problems

OK = {"errcode": 0, "errmsg": "ok"}


def err(code: int, msg: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": msg}


@dataclass
class Faults:
    error_rate: float = 0.0  # share of calls answered with a transient failure
    latency_ms: int = 0
    hang_rate: float = 0.0  # share of calls that stall past the client's timeout
    hang_seconds: float = 15.0
    storm_until: float = 0.0  # monotonic time until which every send gets 45009
    seed: int | None = None


@dataclass
class FakeWecom:
    """The fake's state; thread-safe."""

    corp_id: str = "wwfake"
    secret: str = "fake-secret"
    token_ttl: int = 7200
    window_seconds: float = 60.0  # the platform's rate-limit window (60 s)
    robot_limit: int = 20  # group robot: 20 messages per window
    user_limit: int = 30  # app messages to one member per window
    chat_limit: int = 20  # app chat messages per window
    faults: Faults = field(default_factory=Faults)
    removed_robots: set[str] = field(default_factory=set)
    tokens: dict[str, float] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    media: dict[str, bytes] = field(default_factory=dict)
    used_response_codes: set[str] = field(default_factory=set)
    windows: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    dedupe: dict[tuple[str, str], float] = field(default_factory=dict)
    # 网页授权: who "is logged in to WeCom" on the authorize page; codes are single-use.
    oauth_user: str = ""
    oauth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=random.Random)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def configure(self, **values: Any) -> None:
        with self.lock:
            for key, value in values.items():
                if key == "storm_seconds":
                    self.faults.storm_until = time.monotonic() + float(value)
                elif key == "remove_robot":
                    self.removed_robots.add(str(value))
                elif key == "restore_robot":
                    self.removed_robots.discard(str(value))
                elif key == "expire_tokens":
                    self.tokens.clear()
                elif hasattr(self.faults, key):
                    setattr(self.faults, key, value)
                    if key == "seed":
                        self.rng.seed(value)
                elif hasattr(self, key) and key in (
                    "window_seconds",
                    "robot_limit",
                    "user_limit",
                    "chat_limit",
                    "token_ttl",
                    "oauth_user",
                ):
                    setattr(self, key, value)
                else:
                    raise KeyError(key)

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.removed_robots.clear()
            self.tokens.clear()
            self.delivered.clear()
            self.calls.clear()
            self.windows.clear()
            self.dedupe.clear()
            self.used_response_codes.clear()
            self.oauth_user = ""
            self.oauth_codes.clear()

    def _allow(self, key: str, limit: int) -> bool:
        now = time.monotonic()
        window = self.windows[key]
        while window and window[0] <= now - self.window_seconds:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def issue_token(self) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        return token

    def token_error(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return err(41001, "access_token missing")
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None:
            return err(40014, "invalid access_token")
        if expires < time.monotonic():
            return err(42001, "access_token expired")
        return None

    def record(self, endpoint: str, target: str, body: dict[str, Any]) -> None:
        self.delivered.append(
            {
                "id": next(self.ids),
                "endpoint": endpoint,
                "target": target,
                "body": body,
                "at": time.time(),
            }
        )


def _content(body: dict[str, Any]) -> str:
    kind = body.get("msgtype", "")
    part = body.get(kind) or {}
    if kind == "template_card":  # a card has no text: the whole card is what repeats
        return json.dumps(part, sort_keys=True, ensure_ascii=False)
    return str(part.get("content", "")) if isinstance(part, dict) else ""


def create_fake_app(fake: FakeWecom | None = None) -> Flask:
    fake = fake or FakeWecom()
    app = Flask("fakewecom")
    app.extensions["fakewecom"] = fake

    def reply(payload: dict[str, Any], status: int = 200) -> Response:
        return Response(
            json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
        )

    def faulty(name: str) -> Response | None:
        """Latency, stalls and transient failures, as configured."""
        f = fake.faults
        with fake.lock:
            fake.calls[name] += 1
            roll, hang = fake.rng.random(), fake.rng.random()
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000)
        if f.hang_rate and hang < f.hang_rate:
            time.sleep(f.hang_seconds)
            return reply(err(-1, "system busy"))
        if f.error_rate and roll < f.error_rate:
            # Half answer HTTP 502 (a gateway in between), half WeCom's own -1.
            return (
                reply({"error": "bad gateway"}, 502)
                if roll < f.error_rate / 2
                else reply(err(-1, "system busy"))
            )
        return None

    def stormy() -> bool:
        return time.monotonic() < fake.faults.storm_until

    @app.get("/cgi-bin/gettoken")
    def gettoken() -> Response:
        if (bad := faulty("gettoken")) is not None:
            return bad
        if request.args.get("corpid") != fake.corp_id:
            return reply(err(40013, "invalid corpid"))
        if request.args.get("corpsecret") != fake.secret:
            return reply(err(40001, "invalid secret"))
        return reply({**OK, "access_token": fake.issue_token(), "expires_in": fake.token_ttl})

    def app_send(name: str, targets: list[str], limit: int) -> Response:
        if (bad := faulty(name)) is not None:
            return bad
        if (bad_token := fake.token_error(request.args.get("access_token"))) is not None:
            return reply(bad_token)
        body = request.get_json(force=True, silent=True)
        kinds = ("text", "markdown", "image", "template_card")
        if not isinstance(body, dict) or body.get("msgtype") not in kinds:
            return reply(err(40008, "invalid msgtype"))
        if body.get("msgtype") == "template_card":
            problems = card_problems(body.get("template_card"))
            if name != "message/send" or problems:
                return reply(err(40058, f"invalid template_card: {'; '.join(problems)}"))
        elif not _content(body) and body.get("msgtype") != "image":
            return reply(err(44004, "empty content"))
        if stormy():
            return reply(err(45009, "api freq out of limit"))
        with fake.lock:
            # The whole message, not only a text's content: two different cards are no repeat.
            key = (body.get("touser", ""), json.dumps(body.get(body["msgtype"]), sort_keys=True))
            dedupe = name == "message/send" and body.get("enable_duplicate_check")
            if dedupe:
                interval = int(body.get("duplicate_check_interval", 1800))
                last = fake.dedupe.get(key)
                if last is not None and time.monotonic() - last < interval:
                    return reply({**OK, "invaliduser": ""})  # the platform drops the repeat
            if not all(fake._allow(f"{name}:{t}", limit) for t in targets):
                return reply(err(45009, "api freq out of limit"))
            if dedupe:  # only a message that went out counts: a refused one may be resent
                fake.dedupe[key] = time.monotonic()
            fake.record(name, "|".join(targets), body)
        return reply({**OK, "invaliduser": ""})

    @app.post("/cgi-bin/message/send")
    def message_send() -> Response:
        body = request.get_json(force=True, silent=True) or {}
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        return app_send("message/send", users, fake.user_limit)

    @app.post("/cgi-bin/message/update_template_card")
    def update_template_card() -> Response:
        """A card's look after a click; each response code works once (WeCom: 72 hours)."""
        if (bad_token := fake.token_error(request.args.get("access_token"))) is not None:
            return reply(bad_token)
        body = request.get_json(force=True, silent=True) or {}
        code = str(body.get("response_code", ""))
        with fake.lock:
            if not code or code in fake.used_response_codes:
                return reply(err(40078, "invalid response_code"))
            fake.used_response_codes.add(code)
            users = "|".join(str(u) for u in body.get("userids", []))
            fake.record("message/update_template_card", users, body)
        return reply({**OK, "invaliduser": []})

    @app.post("/cgi-bin/appchat/send")
    def appchat_send() -> Response:
        body = request.get_json(force=True, silent=True) or {}
        chatid = str(body.get("chatid", ""))
        if chatid.startswith("gone"):
            return reply(err(86008, "invalid chatid"))
        return app_send("appchat/send", [chatid], fake.chat_limit)

    @app.post("/cgi-bin/webhook/send")
    def webhook_send() -> Response:
        if (bad := faulty("webhook/send")) is not None:
            return bad
        key = request.args.get("key", "")
        if not key:
            return reply(err(93000, "invalid webhook url"))
        if key in fake.removed_robots:
            return reply(err(93000, "invalid webhook url, robot removed"))
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown", "image"):
            return reply(err(40008, "invalid message type"))
        if body["msgtype"] == "image":
            image = body.get("image") or {}
            try:
                raw = base64.b64decode(image.get("base64", ""), validate=True)
            except ValueError:
                return reply(err(40009, "invalid image"))
            if hashlib.md5(raw).hexdigest() != image.get("md5") or len(raw) > 2 * 1024 * 1024:
                return reply(err(40009, "invalid image size or md5"))
        else:
            limit = 4096 if body["msgtype"] == "markdown" else 2048
            if not _content(body):
                return reply(err(44004, "empty content"))
            if len(_content(body).encode()) > limit:
                return reply(err(45002, "content size out of limit"))
        if stormy():
            return reply(err(45009, "api freq out of limit"))
        with fake.lock:
            if not fake._allow(f"webhook:{key}", fake.robot_limit):
                return reply(err(45009, "api freq out of limit"))
            fake.record("webhook/send", key, body)
        return reply(OK)

    @app.post("/cgi-bin/webhook/upload_media")
    def webhook_upload() -> Response:
        if (bad := faulty("webhook/upload_media")) is not None:
            return bad
        key = request.args.get("key", "")
        if key in fake.removed_robots:
            return reply(err(93000, "invalid webhook url"))
        upload = request.files.get("media")
        if upload is None:
            return reply(err(41005, "media data missing"))
        media_id = f"M{secrets.token_hex(8)}"
        with fake.lock:
            fake.media[media_id] = upload.read()
        return reply(
            {
                **OK,
                "type": request.args.get("type", "file"),
                "media_id": media_id,
                "created_at": str(int(time.time())),
            }
        )

    @app.get("/cgi-bin/media/get")
    def media_get() -> Response:
        if (bad := faulty("media/get")) is not None:
            return bad
        if (bad_token := fake.token_error(request.args.get("access_token"))) is not None:
            return reply(bad_token)
        media_id = request.args.get("media_id", "")
        data = fake.media.get(media_id)
        if data is None and media_id.startswith("MEDIA"):
            data = b"\x89PNG fake image " + media_id.encode()
        if data is None:
            return reply(err(40007, "invalid media_id"))
        return Response(
            data,
            mimetype="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{media_id}.png"'},
        )

    @app.post("/cgi-bin/aibot/response")
    def aibot_response() -> Response:
        if (bad := faulty("aibot/response")) is not None:
            return bad
        code = request.args.get("response_code", "")
        with fake.lock:
            if not code or code in fake.used_response_codes:
                return reply(err(40035, "response_code used or invalid"))
            fake.used_response_codes.add(code)
            fake.record("aibot/response", code, request.get_json(force=True, silent=True) or {})
        return reply(OK)

    @app.post("/cgi-bin/message/custom/send")
    def wechat_custom_send() -> Response:
        if (bad := faulty("message/custom/send")) is not None:
            return bad
        body = request.get_json(force=True, silent=True) or {}
        with fake.lock:
            fake.record("message/custom/send", str(body.get("touser", "")), body)
        return reply(OK)

    @app.get("/cgi-bin/token")
    def wechat_token() -> Response:
        return reply({"access_token": fake.issue_token(), "expires_in": fake.token_ttl})

    @app.get("/connect/oauth2/authorize")
    def oauth_authorize() -> Response:
        """The page WeCom shows: straight back to redirect_uri with a code (snsapi_base)."""
        if request.args.get("appid") != fake.corp_id:
            return Response("invalid appid", status=400)
        if request.args.get("response_type") != "code" or not request.args.get("redirect_uri"):
            return Response("invalid request", status=400)
        code = secrets.token_urlsafe(24)
        with fake.lock:
            fake.oauth_codes[code] = (fake.oauth_user, time.monotonic() + 300)
        target = request.args["redirect_uri"]
        sep = "&" if "?" in target else "?"
        query = urlencode({"code": code, "state": request.args.get("state", "")})
        return Response(status=302, headers={"Location": f"{target}{sep}{query}"})

    @app.get("/cgi-bin/user/getuserinfo")
    @app.get("/cgi-bin/auth/getuserinfo")
    def oauth_userinfo() -> Response:
        if (bad := faulty("getuserinfo")) is not None:
            return bad
        if (bad_token := fake.token_error(request.args.get("access_token"))) is not None:
            return reply(bad_token)
        with fake.lock:
            user, expires = fake.oauth_codes.pop(request.args.get("code", ""), ("", 0.0))
        if expires < time.monotonic():
            return reply(err(40029, "invalid code"))
        if user.startswith("openid:"):  # someone outside the corp
            return reply({**OK, "OpenId": user.removeprefix("openid:"), "DeviceId": ""})
        return reply({**OK, "UserId": user, "DeviceId": ""})

    # ---- control -------------------------------------------------------------------
    @app.get("/_fake/delivered")
    def delivered() -> Response:
        with fake.lock:
            return reply({"delivered": list(fake.delivered), "calls": dict(fake.calls)})

    @app.post("/_fake/configure")
    def configure() -> Response:
        try:
            fake.configure(**(request.get_json(force=True, silent=True) or {}))
        except KeyError as exc:
            return reply({"error": f"unknown setting {exc}"}, 400)
        return reply(OK)

    @app.post("/_fake/reset")
    def reset() -> Response:
        fake.reset()
        return reply(OK)

    return app
