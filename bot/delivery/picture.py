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

from handlers.render import phrase

FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK*.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/**/*CJK*.tt[cf]",
)
MAX_BYTES = 2 * 1024 * 1024
RED, BLACK, INK, MUTED = (253, 226, 225), (200, 204, 208), (32, 33, 36), (95, 99, 104)
FLAG_RED = (183, 28, 28)


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
    texts: tuple[str, ...] = ()  # every string drawn, in order: what a reader can read


def period_title(data: dict[str, Any]) -> str:
    """11月16日—11月22日 重点工作周排名（已发布）; years when the range is not this year's."""
    return phrase(
        "titles",
        "board",
        data["start"],
        data["end"],
        data["kind"],
        data.get("frozen"),
        data.get("today", data["end"]),
    )


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """`text` cut (with …) to fit `width` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def render_board(data: dict[str, Any]) -> Drawn | None:
    """Both groups side by side under a header (period, then county, issuing office and
    issue date); red-list rows tinted red and marked 红榜, black-list rows tinted grey and
    marked 黑榜, each with its costliest deduction in short, so a forwarded or printed
    picture still says whose board it is, who is where and why."""
    path = cjk_font()
    if path is None:
        return None
    title_font = ImageFont.truetype(path, 30)
    font = ImageFont.truetype(path, 22)
    small = ImageFont.truetype(path, 18)
    groups = data["groups"]
    line_h, col_w, top = 34, 860, 176
    height = top + line_h * max([len(g["rows"]) for g in groups] + [1]) + 40
    img = Image.new("RGB", (col_w * len(groups) + 40, height), "white")
    base = ImageDraw.Draw(img)
    texts: list[str] = []

    class Recording:
        """Draws and keeps each string, so tests read what the picture says."""

        def text(self, xy: tuple[float, float], text: str, **kw: Any) -> None:
            if text:
                texts.append(text)
            base.text(xy, text, **kw)

        def rectangle(self, box: tuple[float, float, float, float], **kw: Any) -> None:
            base.rectangle(box, **kw)

    draw = Recording()
    draw.text((20, 18), period_title(data), font=title_font, fill=INK)
    today = data.get("today", data["end"])
    office = data.get("office") or "督查室"
    draw.text(
        (20, 62),
        phrase("picture", "issued", data.get("county", ""), office, today),
        font=small,
        fill=MUTED,
    )
    drawn = []
    for gi, g in enumerate(groups):
        x = 20 + gi * col_w
        draw.text(
            (x, 100),
            f"{g['label']}（红榜{len(g['red'])}·黑榜{len(g['black'])}）",
            font=font,
            fill=MUTED,
        )
        heads = ((0, "名次"), (60, "单位"), (290, "得分"), (370, "较上期"), (540, "扣分原因"))
        for dx, head in heads:
            draw.text((x + dx, 140), head, font=small, fill=MUTED)
        for i, r in enumerate(g["rows"]):
            y = top + i * line_h
            mid = y + line_h // 2 - 3
            if r["red"] or r["black"]:
                draw.rectangle(
                    (x - 6, y - 3, x + col_w - 30, y + line_h - 7),
                    fill=RED if r["red"] else BLACK,
                )
            draw.text((x + 10, mid), f"{r['rank']}", font=font, fill=INK, anchor="mm")
            draw.text((x + 60, mid), str(r["name"]), font=font, fill=INK, anchor="lm")
            draw.text((x + 290, mid), f"{r['score']:g}", font=font, fill=INK, anchor="lm")
            draw.text((x + 370, mid), str(r["move"]), font=small, fill=MUTED, anchor="lm")
            flag = "红榜" if r["red"] else ("黑榜" if r["black"] else "")
            if flag:
                colour = FLAG_RED if r["red"] else INK
                draw.text((x + 475, mid), flag, font=font, fill=colour, anchor="lm")
            why = _fit(phrase("picture", "reason", r), small, col_w - 580)
            draw.text((x + 540, mid), why, font=small, fill=MUTED, anchor="lm")
            drawn.append((str(g["label"]), str(r["name"]), y))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    png = buf.getvalue()
    if len(png) > MAX_BYTES:
        return None
    return Drawn(png, tuple(drawn), tuple(texts))
