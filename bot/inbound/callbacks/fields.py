"""The fields of a decrypted callback, checked before anything is stored.

A correctly signed callback can still carry odd values (a test tool, a platform change, a
leaked key): a MsgId that is not a number, a CreateTime that is no time, a sender longer
than the column, a smart-robot field that is a list instead of an object. Each is refused
here with a 400 and its reason, never a 500 from the database or a converter, and a
message without an id of its own gets a key from its whole body, never a shared one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from bot.inbound.callbacks.verify import CallbackRejected
from bot.inbound.pipeline import GROUP_KEY

SENDER_MAX = 64  # InboundMessage.sender
KEY_MAX = 191  # InboundMessage.msg_key: the longest unique string MariaDB indexes in utf8mb4
MEDIA_MAX = 255  # InboundMessage.media_id
ID_MAX = 64  # WeCom's and WeChat's MsgId are 64-bit integers; a smart-robot msgid a token


@dataclass(frozen=True)
class Checked:
    sender: str
    msg_key: str
    media_id: str | None = None


def sender(value: Any, field: str = "FromUserName") -> str:
    if not isinstance(value, str) or not value.strip():
        raise CallbackRejected(400, f"{field} missing or not text")
    if len(value) > SENDER_MAX:
        raise CallbackRejected(400, f"{field} over {SENDER_MAX} characters")
    return value


def body_key(channel: str, body: str | bytes) -> str:
    """A message without an id: keyed by its whole decrypted body, so a platform retry
    (the same body) is still recognised and two different messages never collide."""
    raw = body.encode() if isinstance(body, str) else body
    return f"{channel}:body:{hashlib.sha256(raw).hexdigest()}"


def xml_message(channel: str, msg: Any, plain: str | bytes) -> Checked:
    """Sender, dedupe key and media id of a wechatpy message (WeCom app or official
    account), every field read raw: wechatpy converts lazily and would raise later."""
    data: dict[str, Any] = getattr(msg, "_data", {}) or {}
    who = sender(data.get("FromUserName"))
    created = data.get("CreateTime")
    when = _timestamp(created) if created is not None else None
    media = data.get("MediaId")
    if media is not None and (not isinstance(media, str) or len(media) > MEDIA_MAX):
        raise CallbackRejected(400, f"MediaId not text or over {MEDIA_MAX} characters")
    if data.get("MsgType") == "event":
        if when is None:
            raise CallbackRejected(400, "event without CreateTime")
        event = data.get("Event")
        if not isinstance(event, str) or len(event) > ID_MAX:
            raise CallbackRejected(400, "Event missing or not text")
        key = f"{channel}:ev:{who}:{when}:{event.lower()}"
    else:
        msg_id = data.get("MsgId")
        if msg_id is None or msg_id == "":
            key = body_key(channel, plain)
        elif isinstance(msg_id, str) and msg_id.isascii() and msg_id.isdecimal():
            if len(msg_id) > 20:
                raise CallbackRejected(400, "MsgId over 20 digits")
            key = f"{channel}:{int(msg_id)}"
        else:
            raise CallbackRejected(400, "MsgId is not a number")
    return Checked(who, key, media)


def _timestamp(value: Any) -> int:
    if not isinstance(value, str) or not value.isascii() or not value.isdecimal():
        raise CallbackRejected(400, "CreateTime is not a number")
    seconds = int(value)
    try:
        dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise CallbackRejected(400, "CreateTime out of range") from None
    return seconds


def json_object(data: dict[str, Any], field: str) -> dict[str, Any]:
    """data[field] as an object ({} when absent); anything else is refused."""
    value = data.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CallbackRejected(400, f"{field} is not an object")
    return value


def aibot_message(data: dict[str, Any]) -> tuple[str, str] | None:
    """(sender, msg_key) of a smart-robot message, or None when it names no sender or id
    (stream refreshes and events: nothing to store)."""
    who = json_object(data, "from").get("userid")
    msg_id = data.get("msgid")
    if who in (None, "") or msg_id in (None, ""):
        return None
    if not isinstance(msg_id, str | int) or isinstance(msg_id, bool):
        raise CallbackRejected(400, "msgid is not text")
    # The chat type travels in the message key (no column for it): in a group, an
    # acknowledgement such as 收到 is answered by silence.
    prefix = GROUP_KEY if data.get("chattype") == "group" else "aibot:"
    key = f"{prefix}{msg_id}"
    if len(key) > KEY_MAX:
        raise CallbackRejected(400, f"msgid over {KEY_MAX - len(prefix)} characters")
    url = data.get("response_url")
    if url is not None and not isinstance(url, str):
        raise CallbackRejected(400, "response_url is not text")
    return sender(who, "from.userid"), key
