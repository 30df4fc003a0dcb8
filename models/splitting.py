"""Splitting long texts under WeCom's byte limits (text 2048 B, markdown 4096 B)."""

from __future__ import annotations

LIMITS = {"text": 2048, "markdown": 4096}
HEADER = "（{i}/{n}）\n"


def _fit(line: str, limit: int) -> list[str]:
    """A single over-long line cut at character boundaries."""
    out, cur = [], ""
    for ch in line:
        if len((cur + ch).encode()) > limit:
            out.append(cur)
            cur = ""
        cur += ch
    return [*out, cur] if cur else out


def split_message(content: str, msg_type: str) -> list[str]:
    """The content as one part, or numbered parts each within the limit, cut at line ends."""
    limit = LIMITS.get(msg_type)
    if limit is None or len(content.encode()) <= limit:
        return [content]
    room = limit - len(HEADER.format(i=99, n=99).encode())
    parts: list[str] = []
    cur = ""
    for line in content.split("\n"):
        for piece in _fit(line, room) if len(line.encode()) > room else [line]:
            candidate = f"{cur}\n{piece}" if cur else piece
            if len(candidate.encode()) > room and cur:
                parts.append(cur)
                cur = piece
            else:
                cur = candidate
    if cur:
        parts.append(cur)
    return [HEADER.format(i=i, n=len(parts)) + p for i, p in enumerate(parts, 1)]
