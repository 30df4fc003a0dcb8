"""The weekly board as a PNG for the group robot's image message (people look, not read).

Needs a CJK font (Debian's fonts-noto-cjk, which `make test` installs); without one the
broadcast is markdown only.
"""

from __future__ import annotations

import glob
import io
from dataclasses import dataclass
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK*.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/**/*CJK*.tt[cf]",
)
MAX_BYTES = 2 * 1024 * 1024
RED, BLACK, INK, MUTED = (253, 226, 225), (224, 224, 224), (32, 33, 36), (95, 99, 104)


@cache
def cjk_font() -> str | None:
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


@dataclass(frozen=True)
class Drawn:
    png: bytes
    rows: tuple[tuple[str, str, int], ...]  # (group, unit name, y) of every ranked line


def render_board(data: dict[str, Any]) -> Drawn | None:
    """Both groups side by side; red-list rows tinted red, black-list rows grey."""
    path = cjk_font()
    if path is None:
        return None
    title_font = ImageFont.truetype(path, 30)
    font = ImageFont.truetype(path, 22)
    groups = data["groups"]
    line_h, col_w, top = 34, 520, 110
    height = top + line_h * max([len(g["rows"]) for g in groups] + [1]) + 40
    img = Image.new("RGB", (col_w * len(groups) + 40, height), "white")
    draw = ImageDraw.Draw(img)
    title = (
        f"{data['start'].month}月{data['start'].day}日—{data['end'].month}月"
        f"{data['end'].day}日 重点工作{data['kind']}排名"
    )
    draw.text((20, 18), title, font=title_font, fill=INK)
    drawn = []
    for gi, g in enumerate(groups):
        x = 20 + gi * col_w
        draw.text(
            (x, 66),
            f"{g['label']}（红榜{len(g['red'])}·黑榜{len(g['black'])}）",
            font=font,
            fill=MUTED,
        )
        red = {r["name"] for r in g["red"]}
        black = {r["name"] for r in g["black"]}
        for i, r in enumerate(g["rows"]):
            y = top + i * line_h
            if r["name"] in red or r["name"] in black:
                draw.rectangle(
                    (x - 6, y - 3, x + col_w - 30, y + line_h - 7),
                    fill=RED if r["name"] in red else BLACK,
                )
            draw.text((x, y), f"{r['rank']:>2}", font=font, fill=INK)
            draw.text((x + 50, y), str(r["name"]), font=font, fill=INK)
            draw.text((x + 300, y), f"{r['score']:g}", font=font, fill=INK)
            draw.text((x + 390, y), str(r["move"]), font=font, fill=MUTED)
            drawn.append((str(g["label"]), str(r["name"]), y))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    png = buf.getvalue()
    if len(png) > MAX_BYTES:
        return None
    return Drawn(png, tuple(drawn))
