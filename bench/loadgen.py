"""A lean HTTP/1.1 load generator: N keep-alive connections on one asyncio loop.

The server under test shares this machine's cores with its client, so the client must cost
little: requests are prepared bytes, responses are read by Content-Length, nothing else.
A thread-per-connection client (requests) spent more CPU than the handler it measured and
added its own GIL queueing to every latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from urllib.parse import urlencode


def post_request(host: str, port: int, path: str, params: dict[str, str], body: bytes) -> bytes:
    head = (
        f"POST {path}?{urlencode(params)} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: text/xml\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _run(
    host: str, ports: Sequence[int], requests: Sequence[bytes], concurrency: int
) -> tuple[list[float], float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    latencies: list[float] = []

    async def connection(port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                raw = queue.get_nowait()
                t0 = time.perf_counter()
                writer.write(raw)
                status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection(ports[i % len(ports)]) for i in range(concurrency)))
    return latencies, time.perf_counter() - start


def run(
    host: str, port: int | Sequence[int], requests: Sequence[bytes], concurrency: int
) -> tuple[list[float], float]:
    """Send every request, `concurrency` at a time; (latencies in seconds, wall time).

    Several ports (one per web process) share the connections round-robin, as a front
    proxy spreading keep-alive connections over its upstreams would."""
    ports = [port] if isinstance(port, int) else list(port)
    return asyncio.run(_run(host, ports, requests, concurrency))
