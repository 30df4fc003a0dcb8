"""WeCom self-built app callback: GET URL verification, POST encrypted XML messages."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import xmltodict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.replies import TextReply

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks import fields
from bot.inbound.callbacks.common import Call, Reply, answer, unavailable, wecom_verifier
from bot.inbound.callbacks.verify import CallbackRejected, Verifier, extract_encrypt_xml
from bot.inbound.pipeline import DB_ERRORS
from handlers.review_cards import (
    DECISIONS,
    REASON_QUESTION,
    RETURNS,
    chosen_reason,
    claim_command,
    decision_label,
    stage_of,
    stale_reply,
)
from models import InboundMessage, Progress
from models.outbox import enqueue

# Menu keys an admin may configure on the app's custom menu, mapped to chat commands.
MENU_COMMANDS = {"tasks": "任务", "my_tasks": "任务", "help": "帮助", "rank": "排名"}


def verifier(call: Call) -> Verifier:
    cfg = call.runtime.config.wecom
    if not cfg.corp_id:
        raise CallbackRejected(404, "WeCom callback not configured")
    return wecom_verifier(call, cfg.token, cfg.encoding_aes_key, cfg.corp_id, "WeCom")


def verify_url(call: Call) -> Reply:
    """GET /wecom/callback: WeCom checks the URL when an admin saves it."""
    a = call.args
    try:
        plain = verifier(call).verify_url(
            a.get("msg_signature"), a.get("timestamp", ""), a.get("nonce", ""), a.get("echostr")
        )
    except CallbackRejected as exc:
        return call.refuse("wecom", exc)
    return Reply(plain)


def as_text(msg: Any) -> tuple[str, str] | None:
    """(msg_type, text for the handlers) or None when the message needs no handling."""
    kind = getattr(msg, "type", "")
    if kind == "text":
        return "text", msg.content
    if kind == "event" and msg.event == "click":
        command = MENU_COMMANDS.get(str(msg.key).lower())
        return ("event", command) if command else None
    if kind in ("image", "voice", "video", "file"):
        return kind, f"[{kind}] {getattr(msg, 'media_id', '')}"
    return None


def file_message(plain: str) -> tuple[str, str] | None:
    """A file (MsgType file: a PDF, a spreadsheet) as (text, media id). wechatpy 1.8 knows
    no file messages and hands them over as unknown, so the XML is read here."""
    try:
        data = xmltodict.parse(plain).get("xml") or {}
    except Exception:  # a malformed body was already refused by the parser above
        return None
    if data.get("MsgType") != "file" or not data.get("MediaId"):
        return None
    return f"[file] {data.get('Title') or data['MediaId']}", str(data["MediaId"])


def receive(call: Call) -> Reply:
    """POST /wecom/callback: a message or event from the self-built app."""
    rt = call.runtime
    a = call.args
    try:
        v = verifier(call)
        body = call.body(rt.config.web.max_body_bytes)
        encrypt = extract_encrypt_xml(body)
        timestamp, nonce = a.get("timestamp", ""), a.get("nonce", "")
        plain = v.decrypt(a.get("msg_signature"), timestamp, nonce, encrypt)
        msg = parse_message(plain)
        checked = fields.xml_message("wecom", msg, plain)
        handled = as_text(msg)
        click = card_click(plain) if getattr(msg, "type", "") == "unknown" else None
    except CallbackRejected as exc:
        return call.refuse("wecom", exc)
    except Exception as exc:  # wechatpy parse errors on decrypted garbage
        return call.refuse(
            "wecom", CallbackRejected(400, f"unparsable message: {exc.__class__.__name__}")
        )
    if click is not None:
        return _card(call, v, click, nonce, timestamp)
    media_id = checked.media_id
    if handled is None and getattr(msg, "type", "") == "unknown":
        found = file_message(plain)
        if found is not None:
            handled, media_id = ("file", found[0]), found[1]
    if handled is None:
        return Reply()  # enter_agent, view, location …: nothing to do
    msg_type, text = handled
    key = checked.msg_key
    try:
        reply_text = answer(
            call,
            "wecom",
            sender=checked.sender,
            text=text,
            msg_key=key,
            msg_type=msg_type,
            media_id=media_id,
        )
    except DatabaseUnavailable:
        return unavailable("wecom", key)
    if not reply_text:
        return Reply()
    reply = TextReply(source=msg.target, target=msg.source, content=reply_text).render()
    encrypted = v.cipher().encrypt_message(reply, nonce or secrets.token_hex(8), timestamp)
    return Reply(encrypted, mimetype="application/xml")


# A template card's buttons carry "action:task code"; a click becomes the chat command.
CARD_COMMANDS = {"done": "#{ref} 已完成", "progress": "#{ref} 进度", "extension": "#{ref} 延期"}


def card_click(plain: str) -> dict[str, str] | None:
    """A `template_card_event` (a button on a card we sent): sender, key, task id, response
    code. wechatpy 1.8 knows no such event and hands it over as unknown."""
    try:
        data = xmltodict.parse(plain).get("xml") or {}
    except Exception:
        return None
    if data.get("MsgType") != "event" or data.get("Event") != "template_card_event":
        return None
    fields = ("FromUserName", "ToUserName", "EventKey", "TaskId", "ResponseCode")
    if not all(data.get(f) for f in fields[:4]):
        return None
    return {**{f: str(data.get(f) or "") for f in fields}, "Reason": _selected_reason(data)}


def _selected_reason(data: dict[str, Any]) -> str:
    """The option chosen in a review card's 退回原因 drop-down (SelectedItems), or ""."""
    items = (data.get("SelectedItems") or {}) if isinstance(data.get("SelectedItems"), dict) else {}
    chosen = items.get("SelectedItem")
    for item in chosen if isinstance(chosen, list) else [chosen]:
        if not isinstance(item, dict) or item.get("QuestionKey") != REASON_QUESTION:
            continue
        ids = item.get("OptionIds")
        option = ids.get("OptionId") if isinstance(ids, dict) else None
        option = option[0] if isinstance(option, list) and option else option
        return option if isinstance(option, str) else ""
    return ""


def _card(call: Call, v: Verifier, click: dict[str, str], nonce: str, timestamp: str) -> Reply:
    """One effect per card and button: the message key is the card's task id with the
    button, so a platform retry and a second tap are the same message, while another button
    on the same card (报进度, then 已完成) is still heard. The card then shows the result."""
    rt = call.runtime
    action, _, ref = click["EventKey"].partition(":")
    if not ref.isdigit() or (action not in CARD_COMMANDS and action not in DECISIONS):
        return Reply()
    key = f"wecom:card:{click['TaskId']}:{action}"
    sender, code = click["FromUserName"], click["ResponseCode"]
    if len(code) > fields.KEY_MAX:  # the card update's target column holds 191
        return call.refuse("wecom", CallbackRejected(400, f"ResponseCode over {fields.KEY_MAX}"))
    today = rt.now().astimezone(rt.tz).date()
    reason = chosen_reason(click["Reason"], today) if action in RETURNS else ""
    if reason:  # 退回 with a reason from the drop-down: a message of its own
        key = f"{key}:{click['Reason']}"
    if len(key) > fields.KEY_MAX - len("card-update:"):  # WeCom allows long task ids
        key = "wecom:card:" + hashlib.sha256(key.encode()).hexdigest()
    try:
        stale = ""
        if action in DECISIONS:  # 初审/销号 通过 / 退回 on a claim (handlers/review_cards.py)
            with rt.sessions() as s:
                text = claim_command(s, action, int(ref))
                if text is not None and reason:
                    text = f"{text} {reason}"
                if text is None:  # its claim was decided and the item claimed again
                    stale = stale_reply(s, int(ref), today, stage_of(action))
        else:
            text = CARD_COMMANDS[action].format(ref=ref)
        # A stale card acts on nothing: it is told so, and its update says who decided.
        reply_text = (
            answer(call, "wecom", sender=sender, text=text, msg_key=key, msg_type="event")
            if text
            else stale
        )
        if code and action in DECISIONS:
            enqueue_review_card_update(rt, key, code, sender, int(ref), stage_of(action))
        elif code:
            enqueue_card_update(rt, key, code, sender, action)
    except (DatabaseUnavailable, *DB_ERRORS):
        return unavailable("wecom", key)
    if not reply_text:
        return Reply()
    reply = TextReply(source=click["ToUserName"], target=sender, content=reply_text).render()
    encrypted = v.cipher().encrypt_message(reply, nonce or secrets.token_hex(8), timestamp)
    return Reply(encrypted, mimetype="application/xml")


def enqueue_review_card_update(
    rt: Any, key: str, code: str, sender: str, claim_id: int, stage: str
) -> None:
    """Once the claim is decided — by this click or earlier by someone else — the card says
    who decided; while it waits (a 退回 click without a reason) the buttons stay. Keyed by
    the response code, which WeCom gives anew per click and repeats on a retry."""
    with rt.sessions() as s:
        label = decision_label(s, claim_id, rt.now().astimezone(rt.tz).date(), stage)
        if label is None:
            return
        row = enqueue(
            s,
            # WeCom does not bound a response code's length; the key column is 191 long.
            dedupe_key=f"card-update:{hashlib.sha256(code.encode()).hexdigest()}",
            channel="card_update",
            target=code,
            content="",
            now=rt.now(),
            msg_type="card_update",
            source=key,
        )
        if row is None:
            return  # a retry: the update is already queued
        row.payload = {"userids": [sender], "replace_name": label}
        try:
            s.commit()
        except IntegrityError:
            s.rollback()  # a simultaneous retry queued it first


def enqueue_card_update(rt: Any, key: str, code: str, sender: str, action: str) -> None:
    """Queue the card's new look (its button replaced by the outcome), once per card."""
    with rt.sessions() as s:
        inbound = s.scalar(select(InboundMessage).where(InboundMessage.msg_key == key))
        if inbound is None:
            return
        done = s.scalar(
            select(Progress.id).where(Progress.inbound_id == inbound.id, Progress.kind == "done")
        )
        label = {"done": "已报完成" if done else "已回复"}.get(action, "请在对话中填写")
        row = enqueue(
            s,
            dedupe_key=f"card-update:{key}",
            channel="card_update",
            target=code,
            content="",
            now=rt.now(),
            msg_type="card_update",
            source=f"inbound:{inbound.id}",
        )
        if row is None:
            return  # a retry or a second tap: the update is already queued
        row.payload = {"userids": [sender], "replace_name": label}
        try:
            s.commit()
        except IntegrityError:
            s.rollback()  # a simultaneous tap queued it first
