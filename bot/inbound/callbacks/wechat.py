"""WeChat official account (公众号) callback, plain and safe (AES) modes, same handlers.

Members are recognised by openid, bound once with a code from `duban bind USERID`.
"""

from __future__ import annotations

import hashlib
import hmac

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks import fields
from bot.inbound.callbacks.common import Call, Reply, answer, cached_verifier, unavailable
from bot.inbound.callbacks.verify import CallbackRejected, Verifier, extract_encrypt_xml


def _verifier(call: Call) -> tuple[Verifier, str]:
    cfg = call.runtime.config.wechat
    if not cfg.configured:
        raise CallbackRejected(404, "official account callback not configured")
    settings = ("wechat", cfg.encoding_aes_key, cfg.app_id)
    return cached_verifier(
        call,
        cfg.token,
        settings,
        lambda: (
            WeChatCrypto(cfg.token, cfg.encoding_aes_key, cfg.app_id)
            if cfg.encoding_aes_key
            else None
        ),
    ), cfg.token


def check_plain_signature(call: Call, token: str) -> None:
    """Plain-mode `signature`: SHA-1 of token, timestamp and nonce, sorted."""
    a = call.args
    timestamp, nonce, sig = a.get("timestamp", ""), a.get("nonce", ""), a.get("signature", "")
    if not sig or not nonce:
        raise CallbackRejected(400, "signature or nonce missing")
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise CallbackRejected(403, "bad signature")


def verify_url(call: Call) -> Reply:
    """GET /wechat/callback: the official account checks the URL when it is saved."""
    try:
        v, token = _verifier(call)
        v.check_fresh(call.args.get("timestamp", ""))
        check_plain_signature(call, token)
    except CallbackRejected as exc:
        return call.refuse("wechat", exc)
    return Reply(call.args.get("echostr", ""))


def receive(call: Call) -> Reply:
    """POST /wechat/callback: a follower's message, plain or AES."""
    rt = call.runtime
    a = call.args
    safe = a.get("encrypt_type") == "aes"
    try:
        v, token = _verifier(call)
        body = call.body(rt.config.web.max_body_bytes)
        v.check_fresh(a.get("timestamp", ""))
        check_plain_signature(call, token)
        if safe:
            encrypt = extract_encrypt_xml(body)
            xml = v.decrypt(
                a.get("msg_signature"), a.get("timestamp", ""), a.get("nonce", ""), encrypt
            )
        else:
            xml = body.decode("utf-8")
        msg = parse_message(xml)
        checked = fields.xml_message("wechat", msg, xml)
        content = str(msg.content) if msg.type == "text" else ""
    except CallbackRejected as exc:
        return call.refuse("wechat", exc)
    except Exception as exc:
        return call.refuse(
            "wechat", CallbackRejected(400, f"malformed message: {exc.__class__.__name__}")
        )
    if msg.type != "text":
        return Reply("success")  # events and media: acknowledged, unused
    key = checked.msg_key
    try:
        reply_text = answer(call, "wechat", sender=checked.sender, text=content, msg_key=key)
    except DatabaseUnavailable:
        return unavailable("wechat", key)
    if not reply_text:
        return Reply("success")
    reply = TextReply(source=msg.target, target=msg.source, content=reply_text).render()
    if safe:
        reply = v.cipher().encrypt_message(reply, a.get("nonce", ""), a.get("timestamp"))
    return Reply(reply, mimetype="application/xml")
