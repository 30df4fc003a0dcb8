"""WeCom smart robot (智能机器人) JSON callback: @-mentions in groups and direct chats.

Receive id is "" for an internal smart robot. A user message is answered passively with a
finished `stream` message (the documented reply type for messages); a message that needs
no answer gets an empty 200.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

import xmltodict

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks import fields
from bot.inbound.callbacks.common import Call, Reply, answer, unavailable, wecom_verifier
from bot.inbound.callbacks.verify import CallbackRejected, Verifier
from bot.inbound.pipeline import DB_ERRORS
from handlers.aibot_cards import QUESTION, card_for_message, click_command, updated_card
from handlers.review_cards import DECISIONS, stage_of, stale_reply

MENTION = re.compile(r"^\s*(@\S+\s*)+")


def verifier(call: Call) -> Verifier:
    cfg = call.runtime.config.aibot
    return wecom_verifier(call, cfg.token, cfg.encoding_aes_key, "", "smart robot")


def verify_url(call: Call) -> Reply:
    """GET /wecom/aibot: WeCom checks the smart robot's URL when it is saved."""
    a = call.args
    try:
        plain = verifier(call).verify_url(
            a.get("msg_signature"), a.get("timestamp", ""), a.get("nonce", ""), a.get("echostr")
        )
    except CallbackRejected as exc:
        return call.refuse("aibot", exc)
    return Reply(plain)


def decrypt_json(call: Call, v: Verifier, body: bytes) -> dict[str, Any]:
    a = call.args
    try:
        envelope = json.loads(body)
        encrypt = envelope["encrypt"]
        if not isinstance(encrypt, str) or not encrypt:
            raise ValueError("empty encrypt")
    except (ValueError, KeyError, TypeError):
        raise CallbackRejected(400, "malformed JSON body") from None
    plain = v.decrypt(a.get("msg_signature"), a.get("timestamp", ""), a.get("nonce", ""), encrypt)
    try:
        data = json.loads(plain)
    except ValueError:
        raise CallbackRejected(400, "decrypted payload is not JSON") from None
    if not isinstance(data, dict):
        raise CallbackRejected(400, "decrypted payload is not a JSON object")
    return data


def encrypted_reply(call: Call, v: Verifier, payload: dict[str, Any]) -> Reply:
    a = call.args
    nonce = a.get("nonce") or secrets.token_hex(8)
    timestamp = a.get("timestamp") or str(int(v.clock().timestamp()))
    xml = v.cipher().encrypt_message(json.dumps(payload, ensure_ascii=False), nonce, timestamp)
    # wechatpy wraps the ciphertext in its XML envelope; the smart robot wants it as JSON.
    envelope = xmltodict.parse(xml)["xml"]
    body = {
        "encrypt": envelope["Encrypt"],
        "msgsignature": envelope["MsgSignature"],
        "timestamp": int(timestamp),
        "nonce": nonce,
    }
    return Reply(json.dumps(body), mimetype="application/json")


def text_of(data: dict[str, Any]) -> tuple[str, str] | None:
    """(msg_type, text) of a user message, without the leading @robot mention."""
    kind = data.get("msgtype")
    if kind == "text":
        content = str(fields.json_object(data, "text").get("content", ""))
        return "text", MENTION.sub("", content)
    if kind == "mixed":  # text and images: the text parts carry the command
        items = fields.json_object(data, "mixed").get("msg_item", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise CallbackRejected(400, "mixed.msg_item is not a list of objects")
        parts = [
            str(fields.json_object(i, "text").get("content", ""))
            for i in items
            if i.get("msgtype") == "text"
        ]
        return "text", MENTION.sub("", " ".join(parts))
    if kind in ("image", "file", "voice"):
        return str(kind), f"[{kind}]"
    return None  # stream refreshes, events


def receive(call: Call) -> Reply:
    """POST /wecom/aibot: a message to the smart robot, or a click on its card."""
    rt = call.runtime
    try:
        v = verifier(call)
        data = decrypt_json(call, v, call.body(rt.config.web.max_body_bytes))
        handled = text_of(data)
        ids = fields.aibot_message(data)
        click = card_click(data) if data.get("msgtype") == "event" else None
    except CallbackRejected as exc:
        return call.refuse("aibot", exc)
    if click is not None:
        return _card(call, v, click)
    if handled is None or ids is None:
        return Reply()
    msg_type, text = handled
    sender, key = ids
    try:
        reply_text = answer(
            call,
            "aibot",
            sender=sender,
            text=text,
            msg_key=key,
            msg_type=msg_type,
            response_url=str(data.get("response_url") or "") or None,
        )
    except DatabaseUnavailable:
        return unavailable("aibot", key)
    if not reply_text:
        return Reply()
    stream = {"id": key[:64], "finish": True, "content": reply_text}
    try:
        with rt.sessions() as s:
            card = card_for_message(s, sender, text, key, rt.now().astimezone(rt.tz).date())
    except DB_ERRORS:
        card = None  # the answer still goes out; only its buttons are missing
    if card is not None:  # `任务`, `待初审`: the answer and a card to act on it
        payload = {"msgtype": "stream_with_template_card", "stream": stream, "template_card": card}
        return encrypted_reply(call, v, payload)
    return encrypted_reply(call, v, {"msgtype": "stream", "stream": stream})


def card_click(data: dict[str, Any]) -> dict[str, str] | None:
    """A `template_card_event` on one of our cards: sender, msgid, button, task id and the
    option chosen in the card's drop-down."""
    event = fields.json_object(data, "event")
    if event.get("eventtype") != "template_card_event":
        return None
    body = fields.json_object(event, "template_card_event")
    who = fields.json_object(data, "from").get("userid")
    key, task = body.get("event_key"), body.get("task_id")
    if not all(isinstance(x, str) and x for x in (who, key, task, data.get("msgid"))):
        return None
    option = ""
    items = fields.json_object(body, "selected_items").get("selected_item")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("question_key") != QUESTION:
            continue
        ids = fields.json_object(item, "option_ids").get("option_id")
        first = ids[0] if isinstance(ids, list) and ids else ids
        if isinstance(first, str | int) and not isinstance(first, bool):
            option = str(first)
    url = data.get("response_url")  # refused above unless text
    return {
        "sender": str(who),
        "key": str(key),
        "task": str(task),
        "option": option,
        "response_url": url if isinstance(url, str) else "",
    }


def _card(call: Call, v: Verifier, click: dict[str, str]) -> Reply:
    """A click acts once: its message key is the card, button and option, so WeCom's retry
    and a second tap on the same choice are one message, while another choice on the same
    card is heard. The answer (WeCom allows none but this) is the card updated for the
    clicker: what remains, with the outcome in its sub-title."""
    rt = call.runtime
    action, task, option, sender = click["key"], click["task"], click["option"], click["sender"]
    key = f"aibot:card:{task}:{action}:{option}"
    if len(key) > fields.KEY_MAX:  # WeCom allows long button keys; the column does not
        key = "aibot:card:" + hashlib.sha256(key.encode()).hexdigest()
    try:
        today = rt.now().astimezone(rt.tz).date()
        with rt.sessions() as s:
            text, outcome = click_command(s, sender, action, option, today)
        if text is not None:
            # When the click is left to the worker (busy), its answer goes by response_url.
            outcome = answer(
                call,
                "aibot",
                sender=sender,
                text=text,
                msg_key=key,
                msg_type="event",
                response_url=click["response_url"] or None,
            )
        with rt.sessions() as s:
            if text is None and action in DECISIONS and option.isdigit():
                outcome = stale_reply(s, int(option), today, stage_of(action))
            card = updated_card(s, sender, action, task, option, outcome, today)
    except (DatabaseUnavailable, *DB_ERRORS):
        return unavailable("aibot", key)
    payload = {"response_type": "update_template_card", "userids": [sender], "template_card": card}
    return encrypted_reply(call, v, payload)
