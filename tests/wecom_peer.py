"""An independent implementation of WeCom's callback crypto, written from the published
algorithm (not wechatpy), to play the WeCom server against our endpoints.

AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padded to 32 bytes;
plaintext = 16 random bytes + 4-byte big-endian length + message + receive id.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class WecomPeer:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        assert len(self.key) == 32
        self.receive_id = receive_id

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return hashlib.sha1(
            "".join(sorted([self.token, timestamp, nonce, encrypt])).encode()
        ).hexdigest()

    def encrypt(self, plaintext: str, receive_id: str | None = None) -> str:
        rid = (self.receive_id if receive_id is None else receive_id).encode()
        msg = plaintext.encode()
        raw = os.urandom(16) + struct.pack(">I", len(msg)) + msg + rid
        pad = 32 - len(raw) % 32
        raw += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(raw) + enc.finalize()).decode()

    def decrypt(self, encrypt: str) -> tuple[str, str]:
        """(message, receive id)."""
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        raw = dec.update(base64.b64decode(encrypt)) + dec.finalize()
        raw = raw[: -raw[-1]]
        (length,) = struct.unpack(">I", raw[16:20])
        return raw[20 : 20 + length].decode(), raw[20 + length :].decode()

    def callback(
        self,
        xml: str,
        timestamp: int,
        receive_id: str | None = None,
        nonce: str = "1597212914",
    ) -> tuple[dict[str, str], str]:
        """Query parameters and body of an encrypted XML callback."""
        ts = str(timestamp)
        encrypt = self.encrypt(xml, receive_id)
        params = {"msg_signature": self.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
        body = (
            f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>1000002</AgentID></xml>"
        )
        return params, body

    def read_reply(self, body: str) -> str:
        """Verify a passive reply's signature and return its decrypted XML."""

        def field(name: str) -> str:
            m = re.search(
                rf"<{name}><!\[CDATA\[(.*?)\]\]></{name}>|<{name}>(.*?)</{name}>", body, re.S
            )
            assert m, f"{name} missing in reply"
            return m.group(1) if m.group(1) is not None else m.group(2)

        encrypt, ts, nonce = field("Encrypt"), field("TimeStamp"), field("Nonce")
        assert field("MsgSignature") == self.sign(ts, nonce, encrypt), "reply signature invalid"
        message, rid = self.decrypt(encrypt)
        assert rid == self.receive_id
        return message


# The tests' fixed clock (tests/conftest.py DEFAULT_NOW, 2026-11-25 10:00 in Shanghai): a
# message's CreateTime, unless a test gives its own, never comes from the wall clock.
CREATE_TIME = 1795572000


def text_xml(
    sender: str, content: str, msg_id: int, corp_id: str, create_time: int = CREATE_TIME
) -> str:
    ct = create_time
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{ct}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def image_xml(
    sender: str, media_id: str, msg_id: int, corp_id: str, create_time: int = CREATE_TIME
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://127.0.0.1/x.jpg]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def event_xml(
    sender: str, event: str, corp_id: str, key: str = "", create_time: int = CREATE_TIME
) -> str:
    ct = create_time
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{ct}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><AgentID>1000002</AgentID></xml>"
    )
