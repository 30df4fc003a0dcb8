"""Reading a ledger (台账) workbook as supervision offices keep it.

Real sheets have a title row above the header, merged cells (a key work spanning its tasks,
a section row "一、安全生产" across the sheet), Chinese dates ("2026年9月30日", "9月底",
"12月31日前"), several units in one cell and stray spaces. Reading is pure: cells in, tasks
or row-level errors out; writing them is `bot.excel.ledger`'s job.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openpyxl.utils.datetime import from_excel

from bot.config import ExcelConfig
from bot.excel.bounds import UNREADABLE, SheetTooLarge, read_values
from bot.excel.duties import loose_deadline, read_duty, read_target, spread_plan, year_end
from handlers.dates import ledger_dates
from schedules.calendar import WorkCalendar
from schedules.recurrence import DEFAULT_SEASONS
from schedules.rules import ATTAINMENT, MIX, TIMELINESS, Rules

log = logging.getLogger(__name__)

# Column → the header texts that name it (after spaces are removed; a header may carry a
# note after these, e.g. "完成时限（年月日）").
COLUMNS: dict[str, tuple[str, ...]] = {
    # First, so "重点工作权重" is not read as the 重点工作 column.
    "kw_weight": ("重点工作权重", "工作权重", "类别权重"),
    "seq": ("序号", "编号", "任务编号"),
    "key_work": ("重点工作", "工作类别", "类别", "工作领域"),
    "content": (
        "任务内容",
        "工作任务",
        "具体任务",
        "工作内容",
        "主要任务",
        "重点任务",
        "具体工作任务",
        "主要工作内容",
        "目标任务",
        "工作措施",
        "具体措施",
        "任务",
    ),
    "lead": ("牵头单位", "牵头部门", "牵头领导单位"),
    "units": ("责任单位", "责任部门", "承办单位"),
    "deadline": ("完成时限", "完成时间", "完成期限", "时限要求", "时限", "截止时间"),
    "plan": ("关键节点", "时间节点", "节点安排", "倒排节点"),
    "weight": ("分值", "权重", "分数"),
    "evidence": ("佐证材料", "佐证要求", "是否需佐证", "佐证"),
    "target": ("目标值", "量化指标", "量化目标", "目标"),
    "scoring": ("计分方式", "计分办法", "评分方式", "考核方式"),
}
# 计分方式: how a key work's items score (schedules.rules scoring modes).
SCORING_WORDS = {
    "按时": TIMELINESS,
    "按时限": TIMELINESS,
    "按时效": TIMELINESS,
    "时效": TIMELINESS,
    "按目标": ATTAINMENT,
    "按目标完成": ATTAINMENT,
    "按完成率": ATTAINMENT,
    "目标": ATTAINMENT,
    "综合": MIX,
    "综合计分": MIX,
    "综合评分": MIX,
}
SCORING_LABELS = {TIMELINESS: "按时", ATTAINMENT: "按目标", MIX: "综合"}
# Words for "the units concerned" (县直有关部门, 各相关单位, 各成员单位) that name no unit:
# the office must list the units. 各乡镇 and 各部门 are not among them: they mean every
# township or department (GROUP_WORDS).
VAGUE_UNITS = re.compile(
    r"^(?:县直|县级|县属|县|其他|其它|各|其余)*(?:有关|相关)"
    r"(?:部门|单位|乡镇|乡\(镇\)|科室|机关|部门单位|责任单位|村|社区|企业)?$"
    r"|^(?:县直|县级|县属|县)?(?:各|其他|其它|其余)(?:成员|责任|协办|配合)?"
    r"(?:单位|部门单位|村|社区|企业)$"
    r"|^(?:县直|县级|县属|县)?(?:成员|责任|协办|配合)单位$"
)
REQUIRED = ("content", "units", "deadline")
HEADER_SCAN_ROWS = 15
CELL_CHARS = 32767  # Excel's own limit on a cell's text
# 序号 becomes a task code: a 32-bit integer column on every database.
SEQ_MAX = 2**31 - 1
WEIGHT_MAX = 1000
SPACES = re.compile(r"[\s\u3000]+")
CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
CJK_GAP = re.compile(rf"(?<=[{CJK}]) (?=[{CJK}])|(?<=[{CJK}]) (?=[\w])|(?<=[\w]) (?=[{CJK}])")
UNIT_SPLIT = re.compile(r"[、，,；;/\s\u3000]+")
SEGMENT_SPLIT = re.compile(r"[；;。\n]+")
SECTION = re.compile(r"^[（(]?[一二三四五六七八九十]+[）)、.．]\s*")
OFFSET = re.compile(r"(?:前|提前)\s*(\d{1,3})\s*个?\s*工作日|(\d{1,3})\s*个?\s*工作日\s*前")
# A unit's role written beside its name in the units cell.
ROLE_NOTE = re.compile(r"(?:\((?:牵头|配合|负责|主责|协助|参与|责任)\)|等)$")
# Words that say when, not what: no milestone to spread ("尽快" is refused as before).
VAGUE = re.compile(r"^(?:尽快|立即|及时|按时|按要求|适时|随时)")
# "各乡镇", "县直各部门": every unit of that kind.
GROUP_WORDS = {"各乡镇": "township", "各乡(镇)": "township", "各部门": "department"}


class LedgerFileError(ValueError):
    """The workbook cannot be read as a ledger at all (not a row's fault)."""


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class Directory:
    """The county's units, as a sheet may name them (name, code, or name + 人民政府…, or an
    alias the office set: 县应急局 for 县应急管理局)."""

    units: Sequence[UnitRef]
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias -> unit name or code
    # Filled while reading: names no unit answers to, and names matched through an alias.
    missing: list[str] = field(default_factory=list)
    matched: dict[str, str] = field(default_factory=dict)

    def find(self, text: str) -> UnitRef | None:
        text = normalise(text)
        for u in self.units:
            if text in (u.name, u.code, u.code.lower()):
                return u
        target = self.aliases.get(text)
        if target is not None:
            found = next((u for u in self.units if target in (u.name, u.code)), None)
            if found is not None:
                self.matched[text] = found.name
                return found
        for suffix in ("人民政府", "党委", "政府"):
            if text.endswith(suffix) and len(text) > len(suffix):
                found = self.find(text[: -len(suffix)])
                if found:
                    return found
        return None

    def of_kind(self, kind: str) -> list[UnitRef]:
        return [u for u in self.units if u.kind == kind]


@dataclass(frozen=True)
class SheetTask:
    row: int  # the sheet's own row number, for messages
    seq: int | None
    key_work: str
    content: str
    lead_unit_id: int | None
    unit_ids: tuple[int, ...]
    deadline: dt.date
    plan: tuple[dict[str, Any], ...]
    weight: float
    # 常态化工作 ({"every", "times", "season"}) and how the sheet's words were read.
    recurrence: dict[str, Any] | None = None
    read_as: str = ""
    target_value: float | None = None
    target_unit: str = ""
    work_weight: float | None = None  # the key work's weight in a unit's score
    # 佐证材料 required (是) or not (否); None when the sheet says nothing (key work decides).
    evidence: bool | None = None
    work_scoring: str | None = None  # 计分方式 given for the key work (None: not given)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行【{self.column}】{self.message}"


@dataclass
class SheetResult:
    sheet: str
    tasks: list[SheetTask] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # unit names no unit answers to
    matched: dict[str, str] = field(default_factory=dict)  # alias -> the unit's name
    unit_kinds: dict[str, str] = field(default_factory=dict)  # a 单位 sheet: name -> kind


def clean_text(value: object) -> str:
    """Free text with the stray spaces of typed sheets removed: none between Chinese
    characters, one between other words."""
    text = re.sub(r"[\s\u3000]+", " ", str(value or "")).strip()
    return CJK_GAP.sub("", text)


def normalise(text: object) -> str:
    """Cell text without stray or full-width spaces."""
    if text is None:
        return ""
    return SPACES.sub("", str(text)).replace("（", "(").replace("）", ")")


def read_cells(
    source: str | Path | IO[bytes], limits: ExcelConfig | None = None
) -> tuple[str, list[list[Any]]]:
    """The first sheet's values, every cell of a merged range carrying its top-left value;
    sized up first (`bot.excel.bounds`), so a workbook bomb is refused, never built."""
    try:
        return read_values(source, limits or ExcelConfig())
    except SheetTooLarge as exc:
        raise LedgerFileError(str(exc)) from exc
    except MemoryError:
        raise  # a budget exceeded (see bot.excel.budget), not a file that is no workbook
    except Exception as exc:  # zipfile, openpyxl and XML raise many kinds for a non-xlsx
        log.info("ledger sheet unreadable: %s", exc)
        raise LedgerFileError(UNREADABLE) from exc


UNIT_SHEETS = ("单位", "单位名单", "单位清单", "责任单位")
KIND_WORDS = {"乡镇": "township", "乡": "township", "镇": "township", "街道": "township"}
KIND_WORDS |= {"部门": "department", "县直部门": "department", "单位": "department"}


def read_unit_kinds(
    source: str | Path | IO[bytes], limits: ExcelConfig | None = None
) -> dict[str, str]:
    """A workbook's 单位 sheet (单位名称 | 类型: 乡镇 / 部门), if it has one: name → kind.
    Read within the same bounds as the ledger sheet."""
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        _, rows = read_values(source, limits or ExcelConfig(), UNIT_SHEETS)
    except SheetTooLarge as exc:
        raise LedgerFileError(str(exc)) from exc
    kinds: dict[str, str] = {}
    name_col: int | None = None
    kind_col: int | None = None
    for row in rows:
        cells = [normalise(v) for v in row]
        if name_col is None:
            name_col = next(
                (j for j, c in enumerate(cells) if c.startswith(("单位", "名称"))), None
            )
            kind_col = next((j for j, c in enumerate(cells) if c in ("类型", "类别", "性质")), None)
            continue
        if kind_col is None or max(name_col, kind_col) >= len(cells):
            continue
        kind = KIND_WORDS.get(cells[kind_col])
        if cells[name_col] and kind:
            kinds[cells[name_col]] = kind
    return kinds


def find_header(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, int]]:
    """(header row index, column → cell index) from the first rows that name the columns."""
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for j, cell in enumerate(row):
            text = normalise(cell)
            for column, names in COLUMNS.items():
                if column not in found and any(text.startswith(n) for n in names):
                    found[column] = j
                    break
        if all(c in found for c in REQUIRED):
            return i, found
    wanted = "、".join(COLUMNS[c][0] for c in REQUIRED)
    raise LedgerFileError(f"前 {HEADER_SCAN_ROWS} 行里没有找到表头（至少需要{wanted}）")


@dataclass(frozen=True)
class Reading:
    """What a row's reading needs beyond the units: `[plans]` templates (for 关键节点 without
    dates) and `[seasons]` (汛期每日)."""

    templates: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    seasons: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_SEASONS))

    @classmethod
    def of(cls, rules: Rules) -> Reading:
        """Plain copies of the rules' read-only mappings: a reading is sent to the child
        process that parses an uploaded sheet, and a mappingproxy does not pickle."""
        templates = {k: [dict(m) for m in v] for k, v in rules.plans.items()}
        return cls(templates, dict(rules.seasons))


def parse_sheet(
    source: str | Path | IO[bytes],
    directory: Directory,
    cal: WorkCalendar,
    year: int,
    limits: ExcelConfig | None = None,
    reading: Reading | None = None,
) -> SheetResult:
    """Read a workbook within `limits` and parse its first sheet. What the reading found
    out about units (names no unit answers to, names matched through an alias, a 单位
    sheet's kinds) travels with the result, as the parse may run in another process."""
    title, rows = read_cells(source, limits)
    result = parse_rows(title, rows, directory, cal, year, reading)
    result.missing = list(directory.missing)
    result.matched = dict(directory.matched)
    if result.missing:
        result.unit_kinds = read_unit_kinds(source, limits)
    return result


def parse_rows(
    title: str,
    rows: Sequence[Sequence[Any]],
    directory: Directory,
    cal: WorkCalendar,
    year: int,
    reading: Reading | None = None,
) -> SheetResult:
    reading = reading or Reading()
    head, cols = find_header(rows)
    result = SheetResult(title)
    section = ""
    for i in range(head + 1, len(rows)):
        row, number = rows[i], i + 1

        def cell(column: str, row: Sequence[Any] = row) -> Any:
            j = cols.get(column)
            return row[j] if j is not None and j < len(row) else None

        texts = [normalise(v) for v in row if normalise(v)]
        if not texts:
            continue
        if (len(set(texts)) == 1 and len(texts) > 1) or _is_section(texts, cell("content")):
            section = SECTION.sub("", texts[0])  # "一、安全生产" spanning the row
            continue
        long = _overlong(row, cols)
        if long:
            result.errors.append(
                RowError(number, long, f"超过 Excel 单元格上限 {CELL_CHARS} 个字符")
            )
            continue
        if not any(normalise(cell(c)) for c in REQUIRED):
            continue  # a note or signature row ("填表人：…  审核人：…"), not a task
        task, errors = parse_row(number, cell, section, directory, cal, year, reading)
        result.errors.extend(errors)
        if task is not None:
            result.tasks.append(task)
    _check_duplicates(result)
    return result


def _overlong(row: Sequence[Any], cols: dict[str, int]) -> str | None:
    """The header name of the first cell longer than Excel allows (a file written by a
    script can hold more), or None."""
    names = {j: COLUMNS[c][0] for c, j in cols.items()}
    for j, value in enumerate(row):
        if isinstance(value, str) and len(value) > CELL_CHARS:
            return names.get(j, f"第 {j + 1} 列")
    return None


def _is_section(texts: Sequence[str], content: Any) -> bool:
    # A lone "一、安全生产" in the first column, the content cell empty.
    return len(texts) == 1 and not normalise(content) and bool(SECTION.match(texts[0]))


def parse_row(
    number: int,
    cell: Any,
    section: str,
    directory: Directory,
    cal: WorkCalendar,
    year: int,
    reading: Reading | None = None,
) -> tuple[SheetTask | None, list[RowError]]:
    reading = reading or Reading()
    errors: list[RowError] = []

    def error(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    content = clean_text(cell("content"))
    if not content:
        error("任务内容", "为空")
    key_work = SECTION.sub("", normalise(cell("key_work"))) or section
    if not key_work:
        error("重点工作", "为空（写在本列，或作为分节行“一、安全生产”）")
    seq = _seq(cell("seq"), error)
    unit_ids = _units(cell("units"), directory, error)
    lead_id = None
    if normalise(cell("lead")):
        # The first unit named leads ("县发改局（牵头）、县财政局", "县发改局，县财政局").
        first = next(t for t in UNIT_SPLIT.split(str(cell("lead")).strip()) if t)
        first = ROLE_NOTE.sub("", normalise(first))
        lead = None if VAGUE_UNITS.match(first) else directory.find(first)
        if lead is None and VAGUE_UNITS.match(first):
            error("牵头单位", f"“{first}”不是具体单位，请督查室填写牵头单位的名称")
        elif lead is None:
            error("牵头单位", f"未知单位：{normalise(cell('lead'))}")
            _missing(directory, first)
        else:
            lead_id = lead.id
    duty = read_duty(str(cell("deadline") or ""), content, reading.seasons)
    plan: list[dict[str, Any]] = []
    if duty is not None:  # a recurring duty: its occurrences carry the deadlines
        # It runs to the date the cell gives (每月…，12月31日前), else to the year's end.
        dates = _cell_dates(cell("deadline"), year)
        deadline: dt.date | None = max(d for d, _ in dates) if dates else year_end(year)
    else:
        deadline, earlier = _deadline(cell("deadline"), year, error)
        if deadline is not None:
            template = reading.templates.get(key_work, ())
            plan = _plan(cell("plan"), deadline, cal, error, template)
            if not plan and earlier:
                plan = sorted_plan(_milestones(earlier, deadline, cal, "完成时限", error))
    weight = _weight(cell("weight"), error)
    evidence = _evidence(cell("evidence"), error)
    work_weight = _weight(cell("kw_weight"), error) if normalise(cell("kw_weight")) else None
    work_scoring = _scoring(cell("scoring"), error)
    target: tuple[float, str] | None = None
    try:
        target = read_target(cell("target"))
    except ValueError:
        error("目标", f"无法识别：{normalise(cell('target'))}（请写如 5000头、≥98%）")
    if errors or deadline is None:
        return None, errors
    return (
        SheetTask(
            number,
            seq,
            key_work,
            content,
            lead_id,
            tuple(unit_ids),
            deadline,
            tuple(plan),
            weight,
            duty.recurrence.as_json() if duty else None,
            duty.how if duty else "",
            target[0] if target else None,
            target[1] if target else "",
            work_weight,
            evidence,
            work_scoring,
        ),
        [],
    )


def _missing(directory: Directory, name: str) -> None:
    if name and name not in directory.missing:
        directory.missing.append(name)


def _seq(value: Any, error: Any) -> int | None:
    number: int | None = None
    if isinstance(value, int | float) and math.isfinite(value) and float(value).is_integer():
        number = int(value)
    else:
        text = normalise(value).strip("()#")
        # isdecimal, not isdigit: "²" is a digit int() refuses.
        if text.isascii() and text.isdecimal():
            number = int(text)
    if number is not None and number > SEQ_MAX:
        error("序号", f"过大：{number}（最大 {SEQ_MAX}）")
        return None
    return number if number is not None and number > 0 else None


def _units(value: Any, directory: Directory, error: Any) -> list[int]:
    ids: list[int] = []
    unknown: list[str] = []
    vague: list[str] = []
    for token in UNIT_SPLIT.split(str(value or "")):
        token = ROLE_NOTE.sub("", normalise(token))  # "县发改局(牵头)", "县财政局等"
        if not token:
            continue
        if VAGUE_UNITS.match(token):
            # Never a unit to create: which departments are "concerned" only the office knows.
            vague.append(token)
            continue
        core = re.sub(r"(?:人民政府|党委政府|党委|政府)$", "", token)  # 各乡(镇)人民政府
        group = next((k for w, k in GROUP_WORDS.items() if core.endswith(w)), None)
        found = directory.of_kind(group) if group else [directory.find(token)]
        for u in found:
            if u is None:
                unknown.append(token)
                _missing(directory, token)
            elif u.id not in ids:
                ids.append(u.id)
    if vague:
        error(
            "责任单位",
            f"“{'、'.join(vague)}”不是具体单位，请督查室在表中逐一列出责任单位的名称",
        )
    if unknown:
        error("责任单位", "未知单位：" + "、".join(unknown))
    elif not ids and not vague:
        error("责任单位", "为空")
    return ids


def _cell_dates(value: Any, year: int) -> list[tuple[dt.date, str]] | None:
    """(date, the text around it) for every date in a cell; None when there is none."""
    if isinstance(value, dt.datetime):
        return [(value.date(), "")]
    if isinstance(value, dt.date):
        return [(value, "")]
    if isinstance(value, int | float) and 20000 < value < 80000:  # a date left as a serial
        return [(from_excel(value).date(), "")]
    found: list[tuple[dt.date, str]] = []
    for segment in SEGMENT_SPLIT.split(str(value or "")):
        for d, (start, end) in ledger_dates(segment, year):
            found.append((d, (segment[:start] + segment[end:]).strip(" ，,、")))
    return found or None


def _deadline(
    value: Any, year: int, error: Any
) -> tuple[dt.date | None, list[tuple[dt.date, str]]]:
    """The latest date in the cell is the deadline; earlier ones (\"6月底前完成方案；12月底前
    全面完成\") become milestones."""
    if not normalise(value):
        error("完成时限", "为空")
        return None, []
    dates = _cell_dates(value, year)
    if not dates:
        loose = loose_deadline(str(value), year)  # 全年, 三季度, 2026年12月, 10月中旬
        if loose is not None:
            return loose, []
        error("完成时限", f"无法识别日期：{normalise(value)}（请写明如 2026年9月30日、9月底）")
        return None, []
    last = max(d for d, _ in dates)
    return last, [(d, text) for d, text in dates if d < last]


def _plan(
    value: Any,
    deadline: dt.date,
    cal: WorkCalendar,
    error: Any,
    template: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """关键节点: "9月15日前完成选址；前3个工作日验收" → workday offsets before the deadline;
    a date without a year is in the deadline's year. When no milestone has a date or an
    offset ("完成摸底排查；整改到位"), they are spread backward from the deadline by the key
    work's template (`bot.excel.duties.spread_plan`)."""
    text = str(value or "").strip()
    if not text:
        return []
    segments = [s.strip() for s in SEGMENT_SPLIT.split(text) if s.strip()]
    if not any(
        OFFSET.search(s) or ledger_dates(s, deadline.year) or VAGUE.match(s) for s in segments
    ):
        names = [_name(s, k) for k, s in enumerate(segments)]
        return sorted_plan(spread_plan(names, template))
    plan: list[dict[str, Any]] = []
    dated: list[tuple[dt.date, str]] = []
    for k, segment in enumerate(s.strip() for s in SEGMENT_SPLIT.split(text)):
        if not segment:
            continue
        m = OFFSET.search(segment)
        if m:
            offset = int(m.group(1) or m.group(2))
            rest = OFFSET.sub("", segment)
            for _, (start, end) in reversed(ledger_dates(rest, deadline.year)):
                rest = rest[:start] + rest[end:]  # the date shown beside an offset
            name = _name(re.sub(r"[（(][，,、\s]*[)）]", "", rest), k)
            if offset < 1:
                error("关键节点", f"“{segment}”：工作日数须大于 0")
            plan.append({"name": name, "offset": offset})
            continue
        found = ledger_dates(segment, deadline.year)
        if not found:
            error("关键节点", f"“{segment}”：没有日期，也没有“前N个工作日”")
            continue
        d, (start, end) = found[0]
        if d > deadline and not re.search(r"\d{4}", segment[start:end]):
            before = _year_before(d)  # "12月15日" before a January deadline: last year's
            if deadline - before <= dt.timedelta(days=183):
                d = before  # (a date after the deadline otherwise: reported below)
        dated.append((d, _name(segment[:start] + segment[end:], k)))
    return sorted_plan(plan + _milestones(dated, deadline, cal, "关键节点", error))


def sorted_plan(plan: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Milestones earliest first (largest offset), as they are stored and shown."""
    return sorted(plan, key=lambda m: (-int(m["offset"]), str(m["name"])))


def _milestones(
    dated: Iterable[tuple[dt.date, str]],
    deadline: dt.date,
    cal: WorkCalendar,
    column: str,
    error: Any,
) -> list[dict[str, Any]]:
    anchor = cal.previous_workday_or_same(deadline)
    plan = []
    for k, (d, name) in enumerate(dated):
        offset = cal.workdays_between(cal.previous_workday_or_same(d), anchor)
        if offset < 1:
            error(column, f"节点 {d.isoformat()} 不早于完成时限 {deadline.isoformat()}")
            continue
        plan.append({"name": _name(name, k), "offset": offset})
    return plan


def _year_before(d: dt.date) -> dt.date:
    return (
        d.replace(year=d.year - 1, day=28)
        if (d.month, d.day) == (2, 29)
        else d.replace(year=d.year - 1)
    )


def _name(text: str, k: int) -> str:
    """A milestone's name: its text without the date and the 前/之前 around it."""
    name = text.strip(" ，,、：:()（）")
    name = re.sub(r"^(?:之前|以前|前)|(?:之前|以前|前)$", "", name).strip(" ，,、：:()（）")
    return name or f"节点{k + 1}"


def _weight(value: Any, error: Any) -> float:
    if value is None or normalise(value) == "":
        return 1.0
    try:
        weight = float(normalise(value).rstrip("分%"))
    except ValueError:
        error("分值", f"不是数字：{normalise(value)}")
        return 1.0
    if not math.isfinite(weight):  # float() reads "nan", "inf", "1e999"
        error("分值", f"不是有效的数：{normalise(value)}")
        return 1.0
    if weight > WEIGHT_MAX:
        error("分值", f"过大：{weight:g}（最大 {WEIGHT_MAX}）")
        return 1.0
    if weight <= 0:
        error("分值", "须大于 0")
    return weight


def _scoring(value: Any, error: Any) -> str | None:
    text = normalise(value)
    if not text:
        return None
    # "按时计分", "综合评分": the mode's word with the column's own after it.
    mode = SCORING_WORDS.get(text) or SCORING_WORDS.get(re.sub(r"(计分|评分)$", "", text))
    if mode is None:
        error("计分方式", f"无法识别：{text}（请填“按时”“按目标”或“综合”）")
    return mode


YES = ("是", "需要", "要求", "必须", "需", "必需", "√", "✓", "y", "yes")
NO = ("否", "不需要", "无需", "不要求", "不需", "无", "×", "n", "no")


def _evidence(value: Any, error: Any) -> bool | None:
    text = normalise(value).lower()
    if not text:
        return None
    if text in YES:
        return True
    if text in NO:
        return False
    error("佐证材料", f"请填“是”或“否”：{normalise(value)}")
    return None


def _check_duplicates(result: SheetResult) -> None:
    seen: dict[tuple[str, str], int] = {}
    # 序号 may restart in each key work's section, never repeat inside one.
    seqs: dict[tuple[str, int], int] = {}
    work_weights: dict[str, tuple[float, int]] = {}
    work_modes: dict[str, tuple[str, int]] = {}
    for t in result.tasks:
        if t.work_weight is not None:
            first_weight, row = work_weights.setdefault(t.key_work, (t.work_weight, t.row))
            if first_weight != t.work_weight:
                result.errors.append(
                    RowError(t.row, "重点工作权重", f"与第 {row} 行（同一重点工作）不同")
                )
        if t.work_scoring is not None:
            first_mode, row = work_modes.setdefault(t.key_work, (t.work_scoring, t.row))
            if first_mode != t.work_scoring:
                result.errors.append(
                    RowError(t.row, "计分方式", f"与第 {row} 行（同一重点工作）不同")
                )
        if t.seq is not None:
            first = seqs.setdefault((t.key_work, t.seq), t.row)
            if first != t.row:
                result.errors.append(
                    RowError(t.row, "序号", f"{t.seq} 与第 {first} 行重复（同一重点工作下）")
                )
        key = (t.key_work, t.content)
        if key in seen:
            result.errors.append(
                RowError(t.row, "任务内容", f"与第 {seen[key]} 行重复（同一重点工作下同一任务）")
            )
        else:
            seen[key] = t.row


def directory_from(units: Iterable[Any], aliases: Mapping[str, str] | None = None) -> Directory:
    return Directory(tuple(UnitRef(u.id, u.code, u.name, u.kind) for u in units), aliases or {})
