"""The reply parser: exact cases and properties over full-width forms and spacing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parse import Command, normalize, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("完成", Command("done")),
        ("已完成", Command("done")),
        ("办结", Command("done")),
        ("done", Command("done")),
        ("DONE #12", Command("done", ref=12)),
        ("完成 #12", Command("done", ref=12)),
        ("完成#12 已全部整改到位", Command("done", ref=12, note="已全部整改到位")),
        ("完成 任务12", Command("done", ref=12)),
        ("完成 任务 12，附照片", Command("done", ref=12, note="附照片")),
        ("完成 T12", Command("done", ref=12)),
        ("完成 t7", Command("done", ref=7)),
        ("#12 完成", Command("done", ref=12)),
        ("任务3已完成 材料已报送", Command("done", ref=3, note="材料已报送")),
        ("完成，已整改", Command("done", note="已整改")),
        ("进度 60% 已完成选址", Command("progress", percent=60, note="已完成选址")),
        ("进度 #12 60% 已完成选址", Command("progress", ref=12, percent=60, note="已完成选址")),
        ("进度60%#12", Command("progress", ref=12, percent=60)),
        ("进展 已完成选址", Command("progress", note="已完成选址")),
        ("进展 T5 正在招标", Command("progress", ref=5, note="正在招标")),
        ("progress 40%", Command("progress", percent=40)),
        ("进度 150%", Command("progress", percent=150)),
        ("任务", Command("list")),
        ("待办", Command("list")),
        ("我的任务", Command("list")),
        ("帮助", Command("help")),
        ("help", Command("help")),
        ("2", Command("pick", ref=2)),
        ("销号 #12 城关镇", Command("close", ref=12, note="城关镇")),
        ("退回 #12 城关镇 佐证材料不全", Command("reject", ref=12, note="城关镇 佐证材料不全")),
        ("你好", None),
        ("", None),
        ("today is fine", None),
        ("明天完成", Command("partial", note="明天完成")),
        # not (all) done: never a done claim
        # 一半 is a number: progress 50 %, never a done claim.
        ("完成了一半", Command("progress", percent=50)),
        ("#39 完成了一半", Command("progress", ref=39, percent=50)),
        ("完成60%", Command("progress", percent=60)),
        ("#10 完成率20%", Command("progress", ref=10, percent=20)),
        ("完成情况：正在对接", Command("partial", note="完成情况:正在对接")),
        (
            "完成 #30 方案制定，正在组织实施",
            Command("partial", ref=30, note="完成 #30 方案制定,正在组织实施"),
        ),
        ("#12 未完成", Command("partial", ref=12, note="#12 未完成")),
        ("预计#7下周完成", Command("partial", ref=7, note="预计#7下周完成")),
        (
            "#16 完成时限申请延期至12月20日",
            Command("extension", ref=16, note="完成时限申请延期至12月20日"),
        ),
        ("完成 #16 #20", Command("several", note="完成 #16 #20")),
        # the ways officials write a done claim
        ("完成 12", Command("done", ref=12)),
        ("完成了", Command("done")),
        ("#7 整改完成", Command("done", ref=7)),
        ("#7已整改到位", Command("done", ref=7)),
        ("#20 已经完成了", Command("done", ref=20)),
        ("您好，#7已完成", Command("done", ref=7)),
        ("城关镇 #7 完成", Command("done", ref=7)),
        ("12号任务完成", Command("done", ref=12)),
        ("第41号已完成", Command("done", ref=41)),
        # progress: a percentage is never taken from other numbers
        ("进展 12月底前可完成", Command("progress", note="12月底前可完成")),
        ("进展：3个村已完成检修", Command("progress", note="3个村已完成检修")),
        ("进度 56 80%", Command("progress", ref=56, percent=80)),
        ("进展：已完成选址 60%", Command("progress", percent=60, note="已完成选址")),
        ("#56进度80%", Command("progress", ref=56, percent=80)),
        ("#50 60％", Command("progress", ref=50, percent=60)),
        ("进度#27 百分之三十", Command("progress", ref=27, percent=30)),
        ("#19 申请延期至12月31日", Command("extension", ref=19, note="申请延期至12月31日")),
        ("待办事项", Command("list")),
        ("待审核", Command("awaiting")),
        ("排名？", Command("rank")),
        ("怎么用", Command("help")),
        ("第一个", Command("pick", ref=1)),
        ("选2", Command("pick", ref=2)),
        ("1、", Command("pick", ref=1)),
    ],
)
def test_parse_cases(text: str, expected: Command | None) -> None:
    assert parse(text) == expected


def test_normalize_folds_full_width() -> None:
    assert normalize("完成　＃１２　　说明") == "完成 #12 说明"
    assert normalize("进度 ６０％") == "进度 60%"


FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def widen(text: str, mask: list[bool]) -> str:
    """Turn some ASCII characters into their full-width forms (as Chinese IMEs do)."""
    return "".join(FULL_WIDTH.get(ch, ch) if m else ch for ch, m in zip(text, mask, strict=False))


ref_forms = st.sampled_from(["#{n}", "# {n}", "任务{n}", "任务 {n}", "T{n}", "t{n}"])
spaces = st.text(alphabet=" \u3000\t", min_size=0, max_size=3)
notes = st.text(alphabet="已整改到位材料报送完毕情况说明", min_size=0, max_size=12)


@given(
    word=st.sampled_from(["完成", "已完成", "办结", "done", "Done"]),
    form=ref_forms,
    n=st.integers(min_value=1, max_value=99999),
    gap1=spaces,
    gap2=spaces,
    note=notes,
    mask=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_done_with_ref_survives_width_and_spacing(
    word: str, form: str, n: int, gap1: str, gap2: str, note: str, mask: list[bool]
) -> None:
    if word.isascii() and form[0] in "Tt" and not gap1:
        gap1 = " "  # "doneT12" is one word; people separate a Latin ref from a Latin verb
    text = widen(f"{gap1}{word}{gap1}{form.format(n=n)}{gap2}{' ' if note else ''}{note}", mask)
    cmd = parse(text)
    assert cmd is not None and cmd.kind == "done"
    assert cmd.ref == n
    assert cmd.note == note.strip()


@given(
    pct=st.integers(min_value=0, max_value=100),
    form=ref_forms,
    n=st.integers(min_value=1, max_value=999),
    with_ref=st.booleans(),
    gap=spaces,
    note=notes,
    mask=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_progress_percent_survives_width_and_spacing(
    pct: int, form: str, n: int, with_ref: bool, gap: str, note: str, mask: list[bool]
) -> None:
    ref = f"{form.format(n=n)} " if with_ref else ""
    text = widen(f"进度{gap}{ref}{pct}%{gap} {note}", mask)
    cmd = parse(text)
    assert cmd == Command("progress", ref=n if with_ref else None, percent=pct, note=note.strip())


@given(st.text(max_size=40))
def test_parse_never_raises(text: str) -> None:
    cmd = parse(text)
    kinds = {
        "done",
        "progress",
        "list",
        "help",
        "pick",
        "close",
        "reject",
        "extension",
        "approve_ext",
        "refuse_ext",
        "urge",
        "rank",
        "partial",
        "several",
        "awaiting",
        "ack",
        "deadline",
        "status",
        "confirm_done",
    }
    assert cmd is None or cmd.kind in kinds


def test_chinese_numerals_are_read_by_cn2an() -> None:
    """百分之一百 is 100 %, not "no percent"; 十十 is not a number (it was read as 20)."""
    from handlers.dates import cn_number, date_mention

    assert parse("进度 #3 百分之一百") == Command("progress", ref=3, percent=100)
    assert parse("#3 进度百分之二十五") == Command("progress", ref=3, percent=25)
    assert [cn_number(t) for t in ("十十", "二十五", "两", "一百零一")] == [None, 25, 2, 101]
    found = date_mention("至十二月十十日", dt.date(2026, 12, 1))
    assert found is not None and found[0] is None  # named as an impossible date


def test_a_decimal_percent_is_never_read_as_its_tail() -> None:
    """98.5% is not 5 %: a progress report reads the whole percent it has reached."""
    from handlers.parse import parse

    cmd = parse("#12 进度85.5%")
    assert cmd is not None and (cmd.kind, cmd.ref, cmd.percent) == ("progress", 12, 85)
