"""Outgoing channels, one small adapter each behind `send(row)`.

An adapter returns when the platform accepted the message and otherwise raises a
DeliveryError saying what the relay should do: wait for the rate-limit window, retry with
backoff, or park the row for an admin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

import requests
from wechatpy.exceptions import WeChatClientException

from bot.config import Config
from bot.delivery.wecom_api import WecomClient
from models import Outbox

log = logging.getLogger(__name__)

RATE_LIMITED = {45009, 45033}
# The robot was removed, disabled or left the group; the chat is gone; the recipient is not
# valid; the request itself is malformed. Retrying cannot help.
PERMANENT = {
    93000,
    93004,
    93008,
    86008,
    40003,
    40008,
    40031,
    40035,
    40058,
    41001,
    44004,
    45002,
    48002,
    60020,
    81013,
}


class DeliveryError(Exception):
    def __init__(self, kind: str, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.kind = kind  # rate_limited | transient | permanent
        self.reason = reason
        self.code = code


def classify(code: int | None, msg: str) -> DeliveryError:
    if code in RATE_LIMITED:
        return DeliveryError("rate_limited", f"{code} {msg}", code)
    if code in PERMANENT:
        return DeliveryError("permanent", f"{code} {msg}", code)
    return DeliveryError("transient", f"{code} {msg}", code)


def message_body(row: Outbox) -> dict[str, Any]:
    """WeCom's JSON body for the row's message type (shared by robots, app chats and apps)."""
    p = row.payload
    if row.msg_type == "image":
        return {"msgtype": "image", "image": {"base64": p["base64"], "md5": p["md5"]}}
    if row.msg_type == "markdown":
        return {"msgtype": "markdown", "markdown": {"content": p["content"]}}
    if row.msg_type == "template_card":
        return {"msgtype": "template_card", "template_card": p["template_card"]}
    text: dict[str, Any] = {"content": p["content"]}
    if p.get("mentioned_list"):
        text["mentioned_list"] = list(p["mentioned_list"])
    return {"msgtype": "text", "text": text}


def post_json(
    http: requests.Session,
    url: str,
    body: dict[str, Any],
    *,
    timeout: float,
    params: dict[str, str] | None = None,
) -> None:
    """POST to a WeCom endpoint; raise DeliveryError unless errcode is 0."""
    try:
        res = http.post(
            url,
            params=params,
            timeout=timeout,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
        )
    except requests.RequestException as exc:
        raise DeliveryError("transient", f"{exc.__class__.__name__}") from None
    if res.status_code >= 500 or res.status_code == 429:
        raise DeliveryError("transient", f"HTTP {res.status_code}")
    try:
        result = res.json()
    except ValueError:
        raise DeliveryError("transient", f"HTTP {res.status_code} non-JSON answer") from None
    code = int(result.get("errcode", 0))
    if code != 0:
        raise classify(code, str(result.get("errmsg", "")))


class Channel(Protocol):
    def send(self, row: Outbox) -> None: ...


class SandboxChannel:
    """No credentials: the row itself is the sandbox's copy of the message."""

    def send(self, row: Outbox) -> None:
        log.info("sandbox delivered outbox=%s %s:%s", row.id, row.channel, row.target)


class WebhookChannel:
    """Group robot (群机器人) webhook; wechatpy has no client for it."""

    def __init__(self, base_url: str, http: requests.Session, timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/cgi-bin/webhook/send"
        self.http = http
        self.timeout = timeout

    def send(self, row: Outbox) -> None:
        post_json(
            self.http,
            self.url,
            message_body(row),
            timeout=self.timeout,
            params={"key": row.target},
        )


class AppClientChannel:
    """Self-built app `message/send` to members, or `appchat/send` to an app chat."""

    def __init__(self, client: WecomClient, agent_id: int, endpoint: str) -> None:
        self.client = client
        self.agent_id = agent_id
        self.endpoint = endpoint

    def send(self, row: Outbox) -> None:
        body = message_body(row)
        if self.endpoint == "appchat/send":
            body["chatid"] = row.target
        else:
            body.update(
                touser=row.target,
                agentid=self.agent_id,
                # WeCom drops a repeat of the same content to the same member within
                # the interval: a resend after a crash cannot double a nudge.
                enable_duplicate_check=1,
                duplicate_check_interval=14400,
            )
        try:
            result = self.client.post(self.endpoint, data=body)
        except WeChatClientException as exc:
            if exc.errcode is None:
                raise DeliveryError("transient", f"HTTP error {exc}") from None
            raise classify(int(exc.errcode), str(exc.errmsg)) from None
        except requests.RequestException as exc:
            raise DeliveryError("transient", exc.__class__.__name__) from None
        if isinstance(result, dict) and result.get("invaliduser"):
            log.warning("outbox=%s invalid recipients: %s", row.id, result["invaliduser"])


class CardUpdateChannel:
    """`message/update_template_card`: after a button click, the card shows the result.
    The row's target is the click's response code (valid 72 hours, usable once)."""

    def __init__(self, client: WecomClient, agent_id: int) -> None:
        self.client = client
        self.agent_id = agent_id

    def send(self, row: Outbox) -> None:
        body = {
            "userids": list(row.payload["userids"]),
            "agentid": self.agent_id,
            "response_code": row.target,
            "button": {"replace_name": row.payload["replace_name"]},
        }
        try:
            self.client.post("message/update_template_card", data=body)
        except WeChatClientException as exc:
            if exc.errcode is None:
                raise DeliveryError("transient", f"HTTP error {exc}") from None
            raise classify(int(exc.errcode), str(exc.errmsg)) from None
        except requests.RequestException as exc:
            raise DeliveryError("transient", exc.__class__.__name__) from None


class ResponseUrlChannel:
    """Smart-robot `response_url`: one POST, valid for an hour."""

    def __init__(self, http: requests.Session, timeout: float) -> None:
        self.http = http
        self.timeout = timeout

    def send(self, row: Outbox) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": row.payload["content"]}}
        post_json(self.http, row.target, body, timeout=self.timeout)


class WechatCustomerChannel:
    """Official-account customer-service message to a bound member's openid."""

    def __init__(self, cfg: Config, http: requests.Session, token: Callable[[], str]) -> None:
        self.url = cfg.wechat.api_base_url.rstrip("/") + "/cgi-bin/message/custom/send"
        self.http = http
        self.token = token
        self.timeout = cfg.delivery.http_timeout_seconds

    def send(self, row: Outbox) -> None:
        body = {
            "touser": row.target,
            "msgtype": "text",
            "text": {"content": row.payload["content"]},
        }
        post_json(
            self.http,
            self.url,
            body,
            timeout=self.timeout,
            params={"access_token": self.token()},
        )
