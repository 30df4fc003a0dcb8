"""WeCom self-built app callback: GET URL verification, POST encrypted XML messages."""

from __future__ import annotations

import secrets
from typing import Any

import xmltodict
from flask import Blueprint, Response, request
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.replies import TextReply

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks import fields
from bot.inbound.callbacks.common import (
    answer,
    read_body,
    refuse,
    runtime,
    unavailable,
    wecom_verifier,
)
from bot.inbound.callbacks.verify import CallbackRejected, Verifier, extract_encrypt_xml

bp = Blueprint("wecom_callback", __name__)

# Menu keys an admin may configure on the app's custom menu, mapped to chat commands.
MENU_COMMANDS = {"tasks": "任务", "my_tasks": "任务", "help": "帮助", "rank": "排名"}


def verifier() -> Verifier:
    cfg = runtime().config.wecom
    if not cfg.corp_id:
        raise CallbackRejected(404, "WeCom callback not configured")
    return wecom_verifier(cfg.token, cfg.encoding_aes_key, cfg.corp_id, "WeCom")


@bp.get("/wecom/callback")
def verify_url() -> Response:
    a = request.args
    try:
        plain = verifier().verify_url(
            a.get("msg_signature"), a.get("timestamp", ""), a.get("nonce", ""), a.get("echostr")
        )
    except CallbackRejected as exc:
        return refuse("wecom", exc)
    return Response(plain, mimetype="text/plain")


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


@bp.post("/wecom/callback")
def receive() -> Response:
    rt = runtime()
    a = request.args
    try:
        v = verifier()
        body = read_body(rt.config.web.max_body_bytes)
        encrypt = extract_encrypt_xml(body)
        timestamp, nonce = a.get("timestamp", ""), a.get("nonce", "")
        plain = v.decrypt(a.get("msg_signature"), timestamp, nonce, encrypt)
        msg = parse_message(plain)
        checked = fields.xml_message("wecom", msg, plain)
        handled = as_text(msg)
    except CallbackRejected as exc:
        return refuse("wecom", exc)
    except Exception as exc:  # wechatpy parse errors on decrypted garbage
        return refuse(
            "wecom", CallbackRejected(400, f"unparsable message: {exc.__class__.__name__}")
        )
    media_id = checked.media_id
    if handled is None and getattr(msg, "type", "") == "unknown":
        found = file_message(plain)
        if found is not None:
            handled, media_id = ("file", found[0]), found[1]
    if handled is None:
        return Response("", mimetype="text/plain")  # enter_agent, view, location …: nothing to do
    msg_type, text = handled
    key = checked.msg_key
    try:
        reply_text = answer(
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
        return Response("", mimetype="text/plain")
    reply = TextReply(source=msg.target, target=msg.source, content=reply_text).render()
    encrypted = v.cipher().encrypt_message(reply, nonce or secrets.token_hex(8), timestamp)
    return Response(encrypted, mimetype="application/xml")
