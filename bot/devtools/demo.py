"""The demo county (示范县): fictional units, people and a ledger whose lights are all colours.

`load_demo(session, today)` fills an already-migrated database. Everything is derived
from the seed and `today`, so the same call always builds the same rows; loading it a
second time adds and changes nothing (rows are matched on their natural keys: Unit.code,
Member.userid, KeyWork.name, Task.code, Assignment (task, unit)). It flushes but never
commits: the caller owns the transaction. Every name is invented.

Handy demo userids (`duban members` lists them all):

- `t01_liaison` (城关镇): three open items — #7 overdue and not started (red), #18 due
  in two days (yellow), #12 due in forty days (green) — and #3, already closed;
- `t20_liaison` (金岭乡): exactly one open item (#12), so a bare `完成` needs no number;
  its #7 is closed;
- `dcs_sup1`, `dcs_sup2` (督查室 supervisors), `dcs_admin` (supervisor and admin).

Every unit has `<code>_leader` (分管领导, also Unit.leader); townships and departments
also have `<code>_liaison` and `<code>_head`, e.g. `d03_liaison` for 县应急管理局.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.devtools.demo_duties import load_duties
from models import (
    CLOSED,
    IN_PROGRESS,
    NOT_STARTED,
    REPORTED,
    Assignment,
    KeyWork,
    Member,
    Progress,
    Task,
    Unit,
)

# --- Data tables ------------------------------------------------------------------------

TOWNSHIPS = [
    "城关镇", "河西乡", "东坝镇", "南山乡", "北塘镇",
    "柳林乡", "石门镇", "清水乡", "龙泉镇", "白杨乡",
    "青岗镇", "红岩乡", "双河镇", "沙坪乡", "高桥镇",
    "新华乡", "永安镇", "太平乡", "云溪镇", "金岭乡",
]  # fmt: skip
DEPARTMENTS = [
    "县发改局", "县财政局", "县应急管理局", "县水利局", "县自然资源局",
    "县生态环境分局", "县农业农村局", "县卫健局", "县林草局", "县政务服务中心",
    "县住建局", "县交通运输局", "县教育局", "县公安局", "县民政局",
    "县人社局", "县商务局", "县文旅局", "县市场监管局", "县统计局",
    "县审计局", "县气象局", "县消防救援大队", "县乡村振兴局", "县畜牧兽医局",
]  # fmt: skip
OFFICE_CODE, OFFICE_NAME = "DCS", "县委县政府督查室"

# Member userid suffix and roles, per unit kind.
UNIT_ROLES: list[tuple[str, list[str]]] = [
    ("leader", ["leader"]),
    ("liaison", ["liaison"]),
    ("head", ["head"]),
]
OFFICE_ROLES: list[tuple[str, list[str]]] = [
    ("leader", ["leader"]),
    ("sup1", ["supervisor"]),
    ("sup2", ["supervisor"]),
    ("admin", ["supervisor", "admin"]),
]

# Key work: (name, lead department, weight, tasks). A task is its content, optionally
# with its own lead department when that is not the key work's. Codes run 1..60 in order.
KEY_WORKS: list[tuple[str, str, float, list[str | tuple[str, str]]]] = [
    ("疫情防控", "县卫健局", 1.5, [
        "完成辖区重点人群健康监测台账更新",
        "开展冬春季传染病防控应急演练",
        "完成全县5家发热门诊设施设备检修",
        "落实乡镇卫生院药品和防护物资储备核查",
        "完成农村65岁以上老年人疫苗接种摸底",
        ("建立学校、养老机构传染病监测哨点", "县教育局"),
        "完成上级疫情防控督查反馈问题整改",
    ]),
    ("生态环境保护", "县生态环境分局", 2.0, [
        "完成中央生态环境保护督察反馈问题整改销号",
        "开展入河排污口排查整治",
        "落实秸秆禁烧网格化巡查",
        "完成农村生活污水治理设施运维检查",
        ("完成县城建成区扬尘污染专项整治", "县住建局"),
        ("开展畜禽养殖废弃物资源化利用检查", "县畜牧兽医局"),
        "完成集中式饮用水水源地环境问题整治",
    ]),
    ("安全生产", "县应急管理局", 2.0, [
        ("开展城镇燃气安全隐患专项排查", "县住建局"),
        ("完成国省干道8处交通安全隐患点整治", "县交通运输局"),
        ("建立自建房安全隐患排查整治台账", "县住建局"),
        ("开展冬季消防安全大检查", "县消防救援大队"),
        "完成非煤矿山安全生产专项检查",
        "开展危险化学品经营单位执法检查",
        "组织“安全生产月”集中宣传活动",
    ]),
    ("河湖长制", "县水利局", 1.5, [
        "完成全县12条河流巡河台账更新",
        "开展河道“清四乱”专项整治",
        "完成饮用水水源保护区标识标牌设置",
        "更新县乡村三级河湖长公示牌信息",
        "完成河道采砂专项整治",
        "开展“一河一策”方案年度评估",
        "完成美丽河湖建设年度任务",
    ]),
    ("牦牛产业集群", "县农业农村局", 1.0, [
        "完成牦牛良种繁育基地建设",
        ("开展牦牛春季重大动物疫病集中免疫", "县畜牧兽医局"),
        "推进牦牛产业合作社规范化建设",
        ("完成牦牛冷链物流站点选址", "县商务局"),
        "完成牦牛养殖户底数统计和建档",
        ("组织牦牛产品展销推介活动", "县商务局"),
    ]),
    ("一网通办", "县政务服务中心", 1.0, [
        "完成高频政务服务事项“一网通办”梳理",
        "推进乡镇便民服务中心事项进驻",
        "完成政务服务“好差评”差评整改",
        "上线“一件事一次办”主题服务",
        "完成电子证照归集和共享",
        "开展窗口工作人员业务培训",
    ]),
    ("地质灾害防治", "县自然资源局", 1.5, [
        "开展汛前地质灾害隐患点排查",
        "完成地质灾害群测群防员培训",
        "更新地质灾害隐患点“两卡”发放台账",
        "完成地质灾害避险搬迁安置点建设",
        ("开展地质灾害应急避险演练", "县应急管理局"),
        "完成23处重点隐患点专业监测设备安装",
        "开展汛后地质灾害隐患核查",
    ]),
    ("防汛抗旱", "县水利局", 1.5, [
        ("完成防汛物资储备核查补充", "县应急管理局"),
        "修订山洪灾害防御预案",
        "完成3座病险水库除险加固",
        "落实抗旱应急水源工程",
        "完成水库、山塘防汛责任人公示",
        ("开展防汛应急抢险演练", "县应急管理局"),
        "完成山洪灾害预警广播设施检修",
    ]),
    ("森林草原防灭火", "县林草局", 2.0, [
        "完成森林草原防火隔离带建设",
        ("开展野外用火专项检查", "县公安局"),
        "落实护林员巡护轨迹考核",
        "完成防火物资库补充",
        ("开展森林草原火灾扑救演练", "县消防救援大队"),
        "完成重点林区防火检查站设置",
    ]),
]  # fmt: skip
MILESTONES = ["完成摸底排查", "形成工作方案", "组织实施", "自查验收"]
PROGRESS_NOTES = [
    "已召开专题会议安排部署",
    "已完成摸底排查，正在制定方案",
    "工作方案已印发，正在组织实施",
    "现场推进中，进度符合计划",
    "已完成大部分点位，剩余点位本周推进",
    "已落实专人负责，正在收集佐证材料",
]
DONE_NOTES = ["已按要求完成", "已全部完成，佐证材料已上传", "已完成整改，台账已同步更新"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
GIVEN_NAMES = [
    "建国", "志强", "海燕", "丽华", "明辉", "晓东", "春梅", "文静", "国庆", "红霞",
    "永刚", "秀英", "德明", "玉兰", "俊杰", "雪梅", "伟民", "桂芳", "卫东", "淑珍",
]  # fmt: skip

# Fixed cases the docs and tests rely on (see the module docstring).
PINNED_DEADLINES = {3: -20, 7: -5, 12: 40, 18: 2}  # task code -> days from today
PINNED_PLANS: dict[int, list[dict[str, Any]]] = {
    12: [{"name": "形成工作方案", "offset": 15}, {"name": "组织实施", "offset": 5}],
    18: [{"name": "完成摸底排查", "offset": 10}, {"name": "组织实施", "offset": 4}],
}
PINNED_ROWS = {  # (task code, unit code) -> status
    (3, "T01"): CLOSED,
    (7, "T01"): NOT_STARTED,
    (7, "T20"): CLOSED,
    (12, "T01"): IN_PROGRESS,
    (12, "T20"): IN_PROGRESS,
    (18, "T01"): IN_PROGRESS,
}
PINNED_UNITS = {"T01", "T20"}  # never picked at random, so their open items stay as above

TASK_COUNT = 60
DEADLINE_RANGE = (-35, 90)  # days from today
ISSUED_DAYS_AGO = 60  # when the demo tasks were handed out


@dataclass(frozen=True)
class DemoSummary:
    """Row counts after loading, and whether this call added anything."""

    units: int
    members: int
    key_works: int
    tasks: int
    assignments: int
    progress: int
    created: bool
    published: int = 0  # ranking periods frozen as history (by `duban demo`)

    def __str__(self) -> str:
        return (
            f"{self.units} units, {self.members} members, {self.key_works} key works, "
            f"{self.tasks} tasks, {self.assignments} ledger rows, {self.progress} reports"
            + (f", {self.published} published ranking periods" if self.published else "")
        )


@dataclass(frozen=True)
class _TaskSpec:
    code: int
    key_work: str
    content: str
    lead: str  # unit name


# --- Small helpers ----------------------------------------------------------------------


def _at(day: dt.date, tz: dt.tzinfo, hour: int, minute: int = 0) -> dt.datetime:
    """A local (Asia/Shanghai) time on `day`, as an aware UTC datetime."""
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return local.astimezone(dt.UTC)


def _office_time(rng: random.Random, day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return _at(day, tz, rng.randint(9, 17), rng.randrange(0, 60, 5))


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _round5(value: float) -> int:
    return int(5 * round(value / 5))


def _ceil5(value: float) -> int:
    return int(5 * math.ceil(value / 5))


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _task_specs() -> list[_TaskSpec]:
    specs: list[_TaskSpec] = []
    for kw_name, kw_lead, _weight, tasks in KEY_WORKS:
        for item in tasks:
            content, lead = item if isinstance(item, tuple) else (item, kw_lead)
            specs.append(_TaskSpec(len(specs) + 1, kw_name, content, lead))
    assert len(specs) == TASK_COUNT, len(specs)
    return specs


def _deadline_offsets(seed: int) -> dict[int, int]:
    """Days from today per task code: evenly spread over DEADLINE_RANGE, then shuffled.

    Spreading (rather than drawing) guarantees overdue, due-this-week and future tasks
    for every seed; the pinned tasks get their fixed offsets.
    """
    lo, hi = DEADLINE_RANGE
    rng = random.Random(f"{seed}:deadlines")
    step = (hi - lo) / (TASK_COUNT - 1)
    offsets = [round(lo + i * step) for i in range(TASK_COUNT)]
    rng.shuffle(offsets)
    by_code = dict(enumerate(offsets, 1))
    by_code.update(PINNED_DEADLINES)
    return by_code


def _plan(rng: random.Random) -> list[dict[str, Any]]:
    """0–3 milestones, `offset` workdays before the deadline, offsets distinct and descending."""
    n = rng.choice([0, 1, 2, 2, 3])
    offsets = sorted(rng.sample(range(2, 16), n), reverse=True)
    names = sorted(rng.sample(range(len(MILESTONES)), n))
    return [{"name": MILESTONES[i], "offset": o} for i, o in zip(names, offsets, strict=True)]


def _expected_percent(plan: list[dict[str, Any]], deadline: dt.date, today: dt.date) -> int:
    """Roughly the percent the plan expects by today (a workday taken as 7/5 of a day).

    Uses the default milestone percents of schedules.plan: i/(n+1) for the i-th of n.
    """
    n = len(plan)
    expected = 0
    for i, m in enumerate(sorted(plan, key=lambda m: -int(m["offset"]))):
        approx = deadline - dt.timedelta(days=int(m["offset"]) * 7 // 5)
        if approx < today:
            expected = round(100 * (i + 1) / (n + 1))
    return expected


def _pick_status(rng: random.Random, days_left: int) -> str:
    """Most past items done, a few still open; near ones under way; far ones mixed."""
    if days_left < 0:
        weights = {CLOSED: 55, REPORTED: 20, IN_PROGRESS: 15, NOT_STARTED: 10}
    elif days_left <= 7:
        weights = {IN_PROGRESS: 65, NOT_STARTED: 35}
    else:
        weights = {NOT_STARTED: 45, IN_PROGRESS: 50, REPORTED: 5}
    return rng.choices(list(weights), list(weights.values()))[0]


def _responsible_units(rng: random.Random, spec: _TaskSpec, units: dict[str, Unit]) -> list[Unit]:
    """1–4 units: townships, often the lead department, sometimes another department."""
    townships = [u for u in units.values() if u.kind == "township" and u.code not in PINNED_UNITS]
    departments = [u for u in units.values() if u.kind == "department" and u.name != spec.lead]
    lead = next(u for u in units.values() if u.name == spec.lead)
    size = rng.choices([1, 2, 3, 4], [15, 30, 35, 20])[0]
    chosen: list[Unit] = []
    if rng.random() < 0.4:
        chosen.append(lead)
    if rng.random() < 0.2:
        chosen.append(rng.choice(departments))
    chosen += rng.sample(townships, max(size - len(chosen), 0))
    pinned = [units[unit_code] for (code, unit_code) in PINNED_ROWS if code == spec.code]
    return (pinned + chosen)[:4]


# --- Loaders ----------------------------------------------------------------------------


def _load_units(
    session: Session, seed: int, today: dt.date, tz: dt.tzinfo
) -> tuple[dict[str, Unit], bool]:
    """Units and their members; sets each unit's leader. Returns units by code."""
    existing_units = {u.code: u for u in session.scalars(select(Unit))}
    existing_members = {m.userid: m for m in session.scalars(select(Member))}
    since = _at(today - dt.timedelta(days=ISSUED_DAYS_AGO + 30), tz, 9)
    specs = (
        [(f"T{i:02d}", name, "township") for i, name in enumerate(TOWNSHIPS, 1)]
        + [(f"D{i:02d}", name, "department") for i, name in enumerate(DEPARTMENTS, 1)]
        + [(OFFICE_CODE, OFFICE_NAME, "office")]
    )
    created = False
    units: dict[str, Unit] = {}
    serial = 0
    for code, name, kind in specs:
        unit = existing_units.get(code)
        if unit is None:
            unit = Unit(
                code=code,
                name=name,
                kind=kind,
                webhook_keys=[f"demo-{code}"],
                appchat_id=None,
                created_at=since,
            )
            session.add(unit)
            created = True
        units[code] = unit
        rng = random.Random(f"{seed}:unit:{code}")
        for suffix, roles in OFFICE_ROLES if kind == "office" else UNIT_ROLES:
            serial += 1
            userid = f"{code.lower()}_{suffix}"
            person = _person_name(rng)  # drawn even when the member exists: stable names
            member = existing_members.get(userid)
            if member is None:
                member = Member(
                    userid=userid,
                    name=person,
                    mobile=f"1380000{serial:04d}",
                    unit=unit,
                    roles=list(roles),
                    created_at=since,
                )
                session.add(member)
                created = True
            if suffix == "leader" and unit.leader is None:
                unit.leader = member
                created = True
    return units, created


def _load_key_works(session: Session, units: dict[str, Unit]) -> tuple[dict[str, KeyWork], bool]:
    existing = {k.name: k for k in session.scalars(select(KeyWork))}
    by_name = {u.name: u for u in units.values()}
    created = False
    for name, lead, weight, _tasks in KEY_WORKS:
        if name not in existing:
            existing[name] = KeyWork(name=name, lead_unit=by_name[lead], weight=weight)
            session.add(existing[name])
            created = True
    return existing, created


def _load_tasks(
    session: Session,
    seed: int,
    today: dt.date,
    units: dict[str, Unit],
    key_works: dict[str, KeyWork],
    tz: dt.tzinfo,
) -> bool:
    """Tasks and their ledger rows; rows are added only for (task, unit) pairs not present."""
    existing_tasks = {t.code: t for t in session.scalars(select(Task))}
    pairs = select(Task.code, Unit.code).join(Assignment.task).join(Assignment.unit)
    existing_rows = {(code, unit_code) for code, unit_code in session.execute(pairs)}
    by_name = {u.name: u for u in units.values()}
    offsets = _deadline_offsets(seed)
    issued = _at(today - dt.timedelta(days=ISSUED_DAYS_AGO), tz, 9)
    created = False
    for spec in _task_specs():
        # One generator per task and per row: reruns make the same choices whatever exists.
        rng = random.Random(f"{seed}:task:{spec.code}")
        deadline = today + dt.timedelta(days=offsets[spec.code])
        plan = PINNED_PLANS.get(spec.code, _plan(rng))
        weight = float(rng.randint(1, 3))
        responsible = _responsible_units(rng, spec, units)
        task = existing_tasks.get(spec.code)
        if task is None:
            task = Task(
                code=spec.code,
                key_work=key_works[spec.key_work],
                content=spec.content,
                lead_unit=by_name[spec.lead],
                deadline=deadline,
                weight=weight,
                plan=plan,
                created_at=issued,
            )
            session.add(task)
            created = True
        for unit in responsible:
            if (spec.code, unit.code) not in existing_rows:
                row_rng = random.Random(f"{seed}:row:{spec.code}:{unit.code}")
                session.add(_new_assignment(row_rng, task, unit, units, today, issued, tz))
                created = True
    return created


def _new_assignment(
    rng: random.Random,
    task: Task,
    unit: Unit,
    units: dict[str, Unit],
    today: dt.date,
    issued: dt.datetime,
    tz: dt.tzinfo,
) -> Assignment:
    """One ledger row with a plausible history of progress reports."""
    days_left = (task.deadline - today).days
    pinned = PINNED_ROWS.get((task.code, unit.code))
    status = pinned or _pick_status(rng, days_left)
    liaison = next(m for m in unit.members if m.has_role("liaison"))
    a = Assignment(task=task, unit=unit, status=status, updated_at=issued)

    if status == IN_PROGRESS:
        # Mostly on plan (no missed milestone); a few lag behind it (a red milestone).
        floor = max(20, _expected_percent(task.plan, task.deadline, today))
        if rng.random() < 0.15 and pinned is None:
            floor = 20
        a.percent = min(80, _ceil5(rng.uniform(floor, 80)))
        _add_progress_history(rng, a, liaison, a.percent, today - dt.timedelta(days=1), tz)
    elif status in (REPORTED, CLOSED):
        a.percent = 100
        # Finished around the deadline, always in the past (closing takes one more day).
        latest = today - dt.timedelta(days=2 if status == CLOSED else 1)
        done_day = min(latest, task.deadline + dt.timedelta(days=rng.choice([-4, -2, -1, 0, 1])))
        if rng.random() < 0.6:
            before = done_day - dt.timedelta(days=1)
            _add_progress_history(rng, a, liaison, _round5(rng.uniform(30, 70)), before, tz)
        a.reported_at = _office_time(rng, done_day, tz)
        a.progress.append(
            Progress(
                member=liaison,
                created_at=a.reported_at,
                kind="done",
                text=rng.choice(DONE_NOTES),
                percent=100,
            )
        )
        a.updated_at = a.reported_at
        if status == CLOSED:
            supervisor = next(m for m in units[OFFICE_CODE].members if m.userid.endswith("_sup1"))
            a.closed_at = _office_time(rng, done_day + dt.timedelta(days=1), tz)
            a.progress.append(
                Progress(
                    member=supervisor,
                    created_at=a.closed_at,
                    kind="review",
                    text="销号",
                    percent=100,
                )
            )
            a.updated_at = a.closed_at
    return a


def _add_progress_history(
    rng: random.Random,
    a: Assignment,
    liaison: Member,
    percent: int,
    last_day: dt.date,
    tz: dt.tzinfo,
) -> None:
    """1–3 progress reports on distinct days up to `last_day`, percents rising to `percent`."""
    n = rng.randint(1, 3)
    gaps = sorted(rng.sample(range(0, 12), n), reverse=True)  # days before last_day
    for i, gap in enumerate(gaps):
        share = percent if i == n - 1 else _round5(percent * (i + 1) / n)
        at = _office_time(rng, last_day - dt.timedelta(days=gap), tz)
        a.progress.append(
            Progress(
                member=liaison,
                created_at=at,
                kind="progress",
                text=rng.choice(PROGRESS_NOTES),
                percent=max(share, 5),
            )
        )
        a.updated_at = at


# --- Entry point ------------------------------------------------------------------------


def load_demo(session: Session, today: dt.date, tz: dt.tzinfo, *, seed: int = 2026) -> DemoSummary:
    """Load the demo county into a migrated database, its people reporting in office hours
    of `tz` (the county's time zone); flushes, the caller commits."""
    units, new_units = _load_units(session, seed, today, tz)
    key_works, new_key_works = _load_key_works(session, units)
    new_tasks = _load_tasks(session, seed, today, units, key_works, tz)
    session.flush()
    # Recurring duties and quantified targets, after the one-off tasks' codes.
    new_duties = load_duties(session, seed, today, units, key_works, tz, TASK_COUNT + 1)
    session.flush()
    return DemoSummary(
        units=_count(session, Unit),
        members=_count(session, Member),
        key_works=_count(session, KeyWork),
        tasks=_count(session, Task),
        assignments=_count(session, Assignment),
        progress=_count(session, Progress),
        created=new_units or new_key_works or new_tasks or new_duties,
    )
