"""The floor for callback throughput: what any Flask + wechatpy WeCom app must do per
callback — verify the signature, decrypt, parse — and then answer an empty 200. Served by
the same waitress server as `duban serve` (bot/wsgi_server.py) with the same thread count,
so the benchmark compares the apps, not two servers.

    python -m bench.floor_app --port 8099 --threads 8 --token T --aes-key K --corp C
"""

from __future__ import annotations

import argparse

from flask import Flask, Response, request
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto


def create_floor_app(token: str, aes_key: str, corp_id: str) -> Flask:
    app = Flask("floor")
    crypto = WeChatCrypto(token, aes_key, corp_id)

    @app.post("/wecom/callback")
    def receive() -> Response:
        a = request.args
        plain = crypto.decrypt_message(
            request.get_data(), a["msg_signature"], a["timestamp"], a["nonce"]
        )
        parse_message(plain)
        return Response("", mimetype="text/plain")

    @app.get("/wecom/callback")
    def ready() -> Response:
        return Response("", mimetype="text/plain")

    return app


def main() -> None:
    from bot.wsgi_server import build_server, freeze_heap

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--token", required=True)
    ap.add_argument("--aes-key", required=True)
    ap.add_argument("--corp", required=True)
    args = ap.parse_args()
    app = create_floor_app(args.token, args.aes_key, args.corp)
    server = build_server(
        app, host="127.0.0.1", port=args.port, threads=args.threads, ident="floor"
    )
    freeze_heap()  # as `duban serve` does
    server.run()


if __name__ == "__main__":
    main()
