"""Verifying and decrypting WeCom-style callbacks (self-built app, smart robot, official account).

Signatures are compared in constant time before wechatpy decrypts; timestamps outside the
window of an injectable clock are refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import xmltodict
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

log = logging.getLogger(__name__)


class CallbackRejected(Exception):
    """A callback that must not be processed; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: SHA-1 of the four strings sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def extract_encrypt_xml(body: bytes) -> str:
    """The <Encrypt> element of an XML callback body."""
    try:
        doc = xmltodict.parse(body, disable_entities=True)
        value = doc["xml"]["Encrypt"]
    except Exception as exc:  # expat errors, missing elements, wrong shapes
        raise CallbackRejected(400, f"malformed XML body: {exc.__class__.__name__}") from None
    if not isinstance(value, str) or not value:
        raise CallbackRejected(400, "malformed XML body: empty Encrypt")
    return value


class Crypto(Protocol):
    """What we use of wechatpy's WeChatCrypto (enterprise and official account alike)."""

    def check_signature(self, signature: str, timestamp: str, nonce: str, echo_str: str) -> str: ...

    def decrypt_message(
        self, msg: str | dict[str, str], signature: str, timestamp: str, nonce: str
    ) -> str: ...

    def encrypt_message(self, msg: str, nonce: str, timestamp: str | None = None) -> str: ...


@dataclass
class Verifier:
    """Checks freshness and signature, then decrypts with a wechatpy crypto object."""

    token: str
    crypto: Crypto | None  # None: the official account in plain mode (signature only)
    window_seconds: int
    clock: Callable[[], dt.datetime]

    def check_fresh(self, timestamp: str) -> None:
        try:
            ts = int(timestamp)
        except (TypeError, ValueError):
            raise CallbackRejected(400, "timestamp missing or not a number") from None
        skew = abs(self.clock().timestamp() - ts)
        if self.window_seconds and skew > self.window_seconds:
            raise CallbackRejected(403, f"stale timestamp: {int(skew)} s off")

    def check_signature(self, sig: str | None, timestamp: str, nonce: str, payload: str) -> str:
        """The signature, once it is known to be right."""
        if not sig or not nonce:
            raise CallbackRejected(400, "msg_signature or nonce missing")
        expected = signature(self.token, timestamp, nonce, payload)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise CallbackRejected(403, "bad signature")
        return sig

    def cipher(self) -> Crypto:
        if self.crypto is None:
            raise CallbackRejected(400, "encrypted message but no encoding_aes_key configured")
        return self.crypto

    def verify_url(self, sig: str | None, timestamp: str, nonce: str, echostr: str | None) -> str:
        """GET URL verification: the decrypted echostr."""
        if not echostr:
            raise CallbackRejected(400, "echostr missing")
        self.check_fresh(timestamp)
        sig = self.check_signature(sig, timestamp, nonce, echostr)
        try:
            return str(self.cipher().check_signature(sig, timestamp, nonce, echostr))
        except Exception as exc:
            raise self._decrypt_error(exc) from None

    def decrypt(self, sig: str | None, timestamp: str, nonce: str, encrypt: str) -> str:
        """The decrypted plaintext of an already extracted `encrypt` payload."""
        self.check_fresh(timestamp)
        sig = self.check_signature(sig, timestamp, nonce, encrypt)
        crypto = self.cipher()
        try:
            # Given as the parsed envelope: wechatpy parses a string body again.
            return str(crypto.decrypt_message({"Encrypt": encrypt}, sig, timestamp, nonce))
        except Exception as exc:
            raise self._decrypt_error(exc) from None

    @staticmethod
    def _decrypt_error(exc: Exception) -> CallbackRejected:
        if isinstance(exc, InvalidCorpIdException | InvalidAppIdException):
            return CallbackRejected(403, "wrong corp id / receive id")
        if isinstance(exc, InvalidSignatureException):
            return CallbackRejected(403, "bad signature")
        if isinstance(exc, binascii.Error | ValueError | UnicodeDecodeError | IndexError):
            return CallbackRejected(400, f"undecryptable payload: {exc.__class__.__name__}")
        return CallbackRejected(400, f"undecryptable payload: {exc.__class__.__name__}")
