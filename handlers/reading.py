"""Reading what officials actually write, before the strict grammar sees it.

A message is recorded only when it is certain, so this layer errs towards *not* a done
claim: a question, a negation, a plan (将/预计/争取), partial words (基本/大部分/前期) or
more work still going on turn a 完成 into something else. What it does:

1. acknowledgements (收到, 好的, 👌) become `ack` — silent in a group;
2. greetings, fillers and emoji are dropped; every common task reference (#12, 12号,
   第12项, 第十二项, 任务12, a leading bare number) is written `#12`; 八成 is 80%;
3. questions are answered (deadline, what is left, the rank, how to use) or asked back;
4. supervisors' words are found in any order (同意销号, 予以退回, 延期申请驳回);
5. extensions keep their whole text for the handler (date, duration, reason);
6. a percentage with a task is progress wherever it stands;
7. a done claim survives only when nothing around it says otherwise.

Value reports ("#12 已出栏3200头") are another module's concern: a reader for them goes in
`READERS` ahead of the done rules, so a value is never mistaken for a completion.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from handlers.command import Command
from handlers.dates import cn_number
from handlers.quantities import read_quantity

Strict = Callable[[str], Command | None]

CN = r"[一二两三四五六七八九十百零]"
ACK_WORDS = (
    "收到|好的|好|明白|明白了|知道了|嗯|嗯嗯|ok|okay|谢谢|感谢|谢谢领导|感谢领导|感谢提醒|"
    "谢谢提醒|已阅|已收到|辛苦了|大家辛苦了|辛苦|马上落实|马上办|立即安排|抓紧落实|"
    "立即落实|请领导放心|收到收到|好嘞|好滴|是|对|谢谢大家"
)
ACK = re.compile(r"(?:(?:" + ACK_WORDS + r")[\s,，.。!！~～、]*)+")
# Emoji and pictographs; ✅ ✔ ☑ mean done and are read before this strips them.
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u3030\u2190-\u21ff]"
)
DONE_MARKS = "✅✔☑✔️"
GREETING = re.compile(
    r"^(?:(?:各位领导|领导|各位|大家|您|你)(?:们)?好|领导|您好|你好|报告领导|报告|汇报一下|汇报|"
    r"喂|哎|那个|嗯|请问|打扰一下|打扰了|我是[^\s,，]{1,12}?的[^\s,，]{1,4}|"
    r"各位领导|领导您好)[\s,，:：!！。]*"
)
FILLER = re.compile(r"那个|这个|的话|呢|啊|哈|吧(?=[\s,，。]|$)|嘛|咧")

# Task references in every common form, rewritten as "#N".
REF_FORMS = [
    re.compile(r"第\s*(\d{1,4}|" + CN + r"{1,4})\s*(?:项|号|条)(?:任务|事项)?"),
    re.compile(r"任务\s*(?:编号)?\s*(\d{1,6})(?!\d)\s*号?"),
    re.compile(r"(?:编号|序号)\s*(\d{1,6})(?!\d)"),
    re.compile(r"(?<![A-Za-z])[Tt](\d{1,6})(?!\d)"),
    # 12号 but not a date (12月15号, 到15号): only at a start or after a separator.
    re.compile(
        r"(?<![\d月到至于在前底日/.\-])(\d{1,4})\s*号(?:任务|事项)?(?!前|之前|以前|截止|到期)"
    ),
]
LEADING_NUMBER = re.compile(
    r"^(\d{1,4})(?=\s*(?:已|完成|办结|完工|完毕|进度|进展|ok|好了|\d{1,3}\s*%|截止|延期|申请|#))",
    re.IGNORECASE,
)
REFS = re.compile(r"#\s*(\d{1,6})(?!\d)")

CHENG = re.compile(
    r"(?<![完组构促赞达形变养])(\d|[一二两三四五六七八九])\s*成(?![功绩员立本果熟交型])"
)
HALF = re.compile(r"(完成了?|已完成|进度|进展|过了?)\s*一半")

EXTENSION = re.compile(r"延期|延后|推迟|顺延|延长|宽限|往后推|缓办|延至|延到|推后|往后延")
DEADLINE_Q = re.compile(r"截止|期限|到期|时限|最后.{0,2}期限|几号|哪天.{0,2}(?:截止|到期)")
RANK_Q = re.compile(r"排第几|排名|排在|第几名|得分|名次|红黑榜|排行")
LIST_Q = re.compile(
    r"还有哪些|还剩(?:哪些|什么|几)|几项|哪些.{0,8}(?:没|未)|未完成的|还有(?:什么|啥|哪)没|"
    r"(?:没|未)(?:完成|办结)的(?:有|是)"
)
HELP_Q = re.compile(r"(?:怎么|如何|怎样)(?:报|申请|用|操作|提交|使用)")
QUESTION = re.compile(r"[?？]|吗|是不是|是否|有没有|了没|没有$|怎么样|咋样|如何了")

# Supervisors' decisions in any order; the refusal words first (不同意 contains 同意).
SUPERVISOR = [
    (
        "refuse_ext",
        re.compile(
            r"不同意延期|驳回延期|延期(?:申请)?[\s，,]*(?:予以)?(?:驳回|不予批准|不同意|不批准)|"
            r"(?:驳回|不同意|不批准).{0,8}延期申请|延期.{0,6}不予批准"
        ),
    ),
    (
        "approve_ext",
        re.compile(
            r"(?:同意|批准|准予)[^，,。]{0,10}?延期(?:申请)?|"
            r"延期(?:申请)?[\s，,]*(?:予以)?(?:同意|批准)(?![吗么嘛])|"
            r"(?:同意|批准).{0,8}延期申请"
        ),
    ),
    ("close", re.compile(r"(?:同意|予以|准予|可以)?销号")),
    ("reject", re.compile(r"(?:予以)?退回")),
    ("urge", re.compile(r"催办")),
]

DONE = re.compile(
    r"已经?(?:全部|全面|圆满|按要求)?(?:完成|办结|完工|完毕|落实|整改到位|到位|结束)|"
    r"(?:全部|全面|圆满)?(?:完成|办结|完工|完毕)|整改到位|落实到位|已落实|到位了|"
    r"搞定|搞完|弄完|做完|干完|办完|(?:搞|弄|做|办|更新|修|清理|整)好了?|完结|结项|竣工|"
    r"(?:排查|清点|整改|巡查|宣传|验收|清理|更新|处理|整治|摸排|检查|施工|改造|拆除|排|查)"
    r"(?:完了|完毕)|"
    r"(?<![A-Za-z])(?:done|finished)(?![A-Za-z])",
    re.IGNORECASE,
)
# Words before a 完成 (in its clause) that make it anything but a done claim.
NOT_YET = re.compile(
    r"未|没|尚|不|将|预计|计划|准备|争取|力争|有望|正在|快|即将|马上|就能|能否|可否|"
    r"明天|后天|下周|本周|月底前|年底前|无法|难以|不能|如何|怎么|是否|待|要(?!求)|需|才能|"
    r"前期|方案|摸底|初步|阶段|一期|部分|大半|过半|一半|哪些|"
    r"(?:听|据|那边|他们|镇|乡|局|单位)说|反映|表示|还差|差一点|差点|就要|就快|将要|"
    r"其余|其他|剩下的"
)
# "基本完成", "应该完成了": likely done, but only the sender can say so — ask.
ALMOST = re.compile(r"基本|大部分|差不多|大体|大致|接近|应该|可能|好像|大概|估计|似乎|应当")
# Right after 完成: a question, a negation, or talk about it.
AFTER_DONE = re.compile(
    r"^\s*[(（【\[]?\s*(?:了?吗|了?没|没有|不了|后|情况|率|时限|与否|多少|的任务|"
    r"了?(?:大半|一部分|部分|一半|多半|少半|大部|一些|几个|个别)|得|有困难|困难|有难度|有问题|"
    # "完成了80户": a count done, not the item
    r"了?\s*(?:\d+|[一两二三四五六七八九十几百千]+)\s*"
    r"(?:户|个|家|处|村|项|条|公里|亩|人|次|件|份|吨|米|座|所|场|批|栋|间|辆|台|万|千|百))"
)
# Words about 完成 rather than a claim of it: "完成情况报告：…已全部完成" claims by its last.
TALK = re.compile(r"^\s*(?:情况|率|时限|进度|质量)")
STILL_GOING = re.compile(
    r"还剩|剩余|剩下|还差|尚未|正在|下一步|未完成|还没|仍在|待完成|继续|争取|预计|"
    r"但|不过|还有[^，,。]{0,8}(?:没|未|待)|还有\s*\d|除"
)
CONFIRM = re.compile(r"确认|确定|是的|对的|对|回复\s*1|回\s*1|1\s*确认|确认\s*1")
OK_ONLY = re.compile(r"^#(\d{1,6})\s*(?:ok|好了|妥了|可以了)$", re.IGNORECASE)
CLAUSE = re.compile(r"[,，。;；!！:：\n]")


ACK_LEAD = re.compile(r"^(?:收到|好的|好滴|好嘞|谢谢|感谢|明白|嗯|ok|知道了|已阅|已收到|辛苦)")
ACK_MAX = 20


def is_ack(text: str) -> bool:
    """收到 / 好的 / 👌 / 谢谢领导 / 收到，马上安排 …: nothing to record and nothing to answer.
    A message that goes on to report, ask or name a task is not one ("收到，#12已完成")."""
    bare = EMOJI.sub("", text).strip(" ,，.。!！~～、")
    if not bare:  # 👌 / 👍👍: pictographs only (but "。。。" is nothing at all)
        return EMOJI.search(text) is not None and not any(m in text for m in DONE_MARKS)
    low = bare.lower()
    if ACK.fullmatch(low) is not None:
        return True
    return (
        ACK_LEAD.match(low) is not None
        and len(bare) <= ACK_MAX
        and not re.search(r"[\d#?？%]|吗|几|哪|什么|怎么", bare)
        and not DONE.search(bare)
        and not EXTENSION.search(bare)
        and not any(m in text for m in DONE_MARKS)
    )


def clean(text: str) -> str:
    """Greetings and fillers off, ✅ read as 已完成, task references written `#N`, 八成 as 80%."""
    t = text
    if any(m in t for m in DONE_MARKS) and not DONE.search(t):
        t = t + " 已完成"
    t = EMOJI.sub(" ", t)
    for _ in range(3):
        t = GREETING.sub("", t.strip())
    t = FILLER.sub("", t)
    for pattern in REF_FORMS:
        t = pattern.sub(lambda m: _ref(m.group(1)), t)
    t = LEADING_NUMBER.sub(lambda m: "#" + m.group(1) + " ", t)
    t = CHENG.sub(lambda m: f"{(cn_number(m.group(1)) or 0) * 10}%", t)
    t = HALF.sub(lambda m: m.group(1) + "50%", t)
    t = re.sub(r"(\d{1,3})\s*%\s*左右", r"\1%", t)
    return re.sub(r"\s+", " ", t).strip(" ,，。")


def _ref(number: str) -> str:
    n = cn_number(number)
    return f" #{n} " if n is not None else number


def refs(text: str) -> list[int]:
    out: list[int] = []
    for m in REFS.finditer(text):
        if int(m.group(1)) not in out:
            out.append(int(m.group(1)))
    return out


def without_refs(text: str) -> str:
    return re.sub(r"\s+", " ", REFS.sub(" ", text)).strip(" ,，。:：")


def _question(t: str) -> Command | None:
    found = refs(t)
    ref = found[0] if found else None
    subject = without_refs(t)
    if HELP_Q.search(t):
        return Command("help")
    if RANK_Q.search(t):
        return Command("rank")
    if EXTENSION.search(t):
        return None  # 能否延期至…？ is a request, not a question
    asks = QUESTION.search(t) is not None or DONE.search(t) is None  # "按时限要求全部完成"
    if asks and DEADLINE_Q.search(t) and not re.search(r"\d{1,2}\s*月|\d{1,2}\s*[日号]", subject):
        return Command("deadline", ref=ref, subject=subject)
    if LIST_Q.search(t):
        return Command("list")
    if QUESTION.search(t) and DONE.search(t):
        return Command("status", ref=ref, subject=subject)
    return None


def _supervisor(t: str) -> Command | None:
    for kind, pattern in SUPERVISOR:
        m = pattern.search(t)
        if m is None:
            continue
        if kind in ("close", "reject") and re.search(
            r"(?:怎么|如何|被|已被|(?:请|申请|(?<!经)审核|待)[^，,。]{0,6})\s*$", t[: m.start()]
        ):
            # 怎么销号？ / 材料被退回了 / 请督查室审核销号: talk about it, not a decision
            continue
        found = refs(t)
        if len(found) > 1:
            return Command("several", note=t)
        rest = t[: m.start()] + " " + t[m.end() :]
        if not found:  # "同意销号35": a lone bare number is the task
            bare = re.findall(r"(?<![\d月])(\d{1,4})(?![\d月日号%])", rest)
            if len(bare) == 1:
                found = [int(bare[0])]
                rest = re.sub(r"(?<![\d月])\d{1,4}(?![\d月日号%])", " ", rest)
        rest = without_refs(rest)
        rest = re.sub(r"^(?:经核实|经审核|经查)[,，\s]*", "", rest)
        rest = re.sub(r"予以|申请(?=[\s,，。]|$)|的(?=[\s,，。]|$)", " ", rest)
        if kind in ("close", "approve_ext"):
            rest = re.sub(r"同意|准予|批准", " ", rest)
        rest = re.sub(r"^\s*(?:理由|原因)[:：]\s*", "", rest.strip(" ,，。:："))
        return Command(kind, ref=found[0] if found else None, note=rest.strip(" ,，。:："))
    return None


def _extension(t: str) -> Command | None:
    if not EXTENSION.search(t):
        return None
    found = refs(t)
    if len(found) > 1:
        return Command("several", note=t)
    ref = found[0] if found else None
    return Command("extension", ref=ref, note=without_refs(t), subject=without_refs(t))


def _percent(t: str) -> tuple[int | None, tuple[int, int] | None]:
    # Not the tail of a longer or decimal number: "98.5%" is not 5 %; a decimal percent
    # counts down to the whole percent it has reached.
    m = re.search(r"(?<![\d.])(\d{1,3})(?:\.\d+)?\s*%", t)
    if m:
        return int(m.group(1)), m.span()
    m = re.search(r"百分之(" + CN + r"{1,4})", t)
    if m:
        value = 100 if m.group(1) == "百" else cn_number(m.group(1))
        return value, m.span()
    return None, None


def _progress(t: str) -> Command | None:
    found = refs(t)
    pct, span = _percent(t)
    if pct is None or span is None:
        return None
    every = [
        m
        for m in re.finditer(r"(\d{1,3})\s*%", t)
        if not re.search(r"剩余?|还有|还差", t[max(0, m.start() - 4) : m.start()])
    ]
    if len(every) == 1 and len(re.findall(r"\d{1,3}\s*%", t)) > 1:
        # "完成80%，剩余20%本周完成": the remainder is not the progress
        pct, span = int(every[0].group(1)), every[0].span()
    elif len({m.group(1) for m in every}) > 1:
        # "完成率由60%提高到80%": the figure reached is the one after 到/至; otherwise the
        # message compares figures and no single one is the progress.
        reached = list(re.finditer(r"(?:到|至|达到|达|为)\s*(\d{1,3})\s*%", t))
        if not reached:
            return Command("partial", ref=found[0] if found else None, note=t)
        pct, span = int(reached[-1].group(1)), reached[-1].span(1)
    if re.search(PCT_NOT_DONE, t[max(0, span[0] - 6) : span[0]]) or re.match(
        r"\s*%?\s*(?:没|未|尚未|还没)", t[span[1] :]
    ):
        # "还有20%没完成", "同比增长20%": not the share of the work that is done
        return Command("partial", ref=found[0] if found else None, note=t)
    if len(found) > 1:
        return None  # several: read clause by clause
    before, after = t[: span[0]], t[span[1] :]
    if re.search(r"(?:多少|几)\s*$", before) or re.search(NOT_YET_PCT, before[-6:]):
        return None
    note = without_refs(before + " " + after)
    note = re.sub(
        r"^(?:目前|现在|当前)?(?:已经?)?"
        r"(?:完成率|完成了?|进度|进展|progress|总工作量的|为|约|大约|大概|达到)*"
        r"[\s:：]*",
        "",
        note,
    )
    note = re.sub(r"^[\s,，。:：]*(?:左右)?[\s,，。:：]*", "", note)
    # "完成八成了": a sentence-final particle left alone is no note.
    note = re.sub(r"^[了啦啊呀哈的]+[\s,，。!！~～]*$", "", note.strip())
    ref = found[0] if found else None
    bare = re.fullmatch(r"\s*(?:进度|进展)\s*(\d{1,6})\s*", before, re.IGNORECASE)
    if ref is None and bare:  # "进度 56 80%": the number before the percentage is the task
        ref, note = int(bare.group(1)), without_refs(after).strip(" ,，。:：")
    return Command("progress", ref=ref, percent=pct, note=note.strip(), subject=without_refs(t))


NOT_YET_PCT = r"不到|未达|没到|没有到"
PCT_NOT_DONE = r"还有|剩|还差|差|未|增长|下降|同比|环比|增加|减少|提高了|超出"


def _done(t: str) -> Command | None:
    m = OK_ONLY.match(t)
    if m:
        return Command("confirm_done", ref=int(m.group(1)))
    found = refs(t)
    hits = list(DONE.finditer(t))
    claims = [h for h in hits if not TALK.match(t[h.end() :])]
    if not hits:
        return None
    if claims and len(claims) < len(hits):
        hits = claims
    m = hits[0]
    clause_start = max((c.end() for c in CLAUSE.finditer(t, 0, m.start())), default=0)
    before = t[clause_start : m.start()]
    after = t[m.end() :]
    ref = found[0] if found else None
    subject = without_refs(t[: m.start()])
    if ALMOST.search(before):
        return Command("confirm_done", ref=ref, subject=subject)
    # "12月15日前完成#12", "下周完成": a date ahead of 完成 without 已 is a plan.
    planned = re.search(r"\d+\s*[月日号]|[月周年]底|下周|明天|后天|周[一二三四五六日末]", before)
    if planned and "已" not in before and not m.group(0).startswith("已"):
        return Command("partial", ref=ref, note=t)
    # "还有一辆车没挪走，其余已完成": work still going anywhere in the message.
    if NOT_YET.search(before) or AFTER_DONE.match(after) or STILL_GOING.search(t):
        return Command("partial", ref=ref, note=t)
    if any(NOT_YET.search(t[max(0, h.start() - 4) : h.start()]) for h in hits[1:]):
        return Command("partial", ref=ref, note=t)
    note = re.sub(r"^[了啦啊]+", "", after).strip(" ,，。:：!！")
    note = without_refs(note)
    return Command("done", ref=ref, note=note, subject=subject)


def _several(t: str, strict: Strict) -> Command | None:
    """Two or more task refs: each clause must be a certain report on its own."""
    found = refs(t)
    if len(found) < 2:
        return None
    starts = [m.start() for m in REFS.finditer(t)]
    parts = [t[a:b] for a, b in zip(starts, [*starts[1:], len(t)], strict=True)]
    lead = t[: starts[0]]
    # "#12 #13 都已完成", "12号和13号已完成": a bare ref takes the verb of the next one.
    items: list[Command] = []
    pending: list[int] = []
    for part in parts:
        ref = refs(part)[0]
        body = without_refs(part).strip(" ,，、和及与都均也")
        if not body:
            pending.append(ref)
            continue
        body = re.sub(r"^(?:都|均|也|全部)", "", body)
        cmd = _one(f"{lead}#{ref} {body}", strict)
        if cmd is None or cmd.kind not in ("done", "progress") or cmd.ref != ref:
            return Command("several", note=t)
        for other in pending:
            items.append(Command(cmd.kind, ref=other, percent=cmd.percent, note=cmd.note))
        pending = []
        items.append(cmd)
    if pending or len({c.ref for c in items}) != len(items):
        return Command("several", note=t)
    return Command("several", note=t, items=tuple(items))


def _quantity(t: str) -> Command | None:
    """A value or a count toward a target ("#12 已出栏3200头", "#30 办件满意度98.5%")."""
    found = read_quantity(t)
    return Command("quantity", ref=found.ref, note=t) if found is not None else None


def _one(t: str, strict: Strict) -> Command | None:
    for reader in READERS:
        cmd = reader(t)
        if cmd is not None:
            return cmd
    cmd = strict(t)
    if cmd is not None and cmd.kind == "progress" and cmd.percent is None:
        if re.search(r"过半|大半|部分|基本|差不多", cmd.note):
            return Command("partial", ref=cmd.ref, note=t)
    if cmd is not None and cmd.kind not in ("done", "partial"):
        return cmd
    mine = _done(t)
    if mine is not None and mine.ref is None and cmd is not None and cmd.ref is not None:
        # "完成 12": the strict grammar reads a bare number after 完成 as the task
        return Command(mine.kind, ref=cmd.ref, note="" if mine.kind == "done" else mine.note)
    return mine


# Read in this order: a percentage beats 完成 ("完成80%"); a value reader (issue 13) goes
# before `_progress` and `_done`.
READERS: list[Callable[[str], Command | None]] = [_supervisor, _extension, _quantity, _progress]


def read(text: str, strict: Strict) -> Command | None:
    """The command in a normalized message; `strict` is the strict grammar for what remains."""
    if not text:
        return None
    if CONFIRM.fullmatch(text.strip(" ,，.。!！")):
        return Command("pick", ref=1)  # 确认 / 是的 answer "回复 1 确认"
    if is_ack(text):
        return Command("ack")
    t = clean(text)
    if not t:
        return None
    direct = strict(t)
    if direct is not None and direct.kind in ("list", "help", "rank", "awaiting", "pick"):
        return direct
    question = _question(t)
    if question is not None:
        return question
    several = _several(t, strict)
    if several is not None:
        return several
    return _one(t, strict)
