"""A small hand-built county whose every row a test can reason about."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from models import (
    CLOSED,
    IN_PROGRESS,
    NOT_STARTED,
    REPORTED,
    Assignment,
    KeyWork,
    Member,
    Task,
    Unit,
)
from schedules.board import Board, publish


def build_county(session: Session, today: dt.date) -> None:
    """城关镇 has three open items, 河西乡 one, 县发改局 one reported; 督查室 reviews."""
    cgz = Unit(code="CGZ", name="城关镇", kind="township", webhook_keys=["key-cgz"])
    hxx = Unit(code="HXX", name="河西乡", kind="township", webhook_keys=["key-hxx"])
    fgj = Unit(code="FGJ", name="县发改局", kind="department", webhook_keys=[])
    dcs = Unit(code="DCS", name="县委县政府督查室", kind="office", webhook_keys=["key-dcs"])
    session.add_all([cgz, hxx, fgj, dcs])
    session.flush()
    people = [
        Member(userid="cgz_liaison", name="张联络", unit=cgz, roles=["liaison"]),
        Member(userid="cgz_head", name="李负责", unit=cgz, roles=["head"]),
        Member(userid="cgz_leader", name="王领导", unit=cgz, roles=["leader"]),
        Member(userid="hxx_liaison", name="赵联络", unit=hxx, roles=["liaison"]),
        Member(userid="fgj_liaison", name="钱联络", unit=fgj, roles=["liaison"]),
        Member(userid="dcs_sup", name="孙督查", unit=dcs, roles=["supervisor"]),
        Member(userid="gone", name="周离职", unit=cgz, roles=["liaison"], active=False),
    ]
    session.add_all(people)
    session.flush()
    cgz.leader = people[2]
    kw = KeyWork(name="安全生产", lead_unit=fgj, weight=1.0)
    kw2 = KeyWork(name="河湖长制", lead_unit=fgj, weight=1.5)
    session.add_all([kw, kw2])
    d = dt.timedelta
    tasks = [
        Task(
            code=1,
            key_work=kw,
            content="开展燃气安全隐患排查",
            lead_unit=fgj,
            deadline=today + d(days=15),
            plan=[{"name": "完成摸底", "offset": 5}],
        ),
        Task(
            code=2,
            key_work=kw2,
            content="更新河道巡查台账",
            lead_unit=fgj,
            deadline=today + d(days=2),
        ),
        Task(
            code=3,
            key_work=kw,
            content="整改消防通道占用问题",
            lead_unit=fgj,
            deadline=today - d(days=5),
        ),
        Task(
            code=4,
            key_work=kw,
            content="报送重点项目清单",
            lead_unit=fgj,
            deadline=today + d(days=5),
        ),
        Task(
            code=5, key_work=kw2, content="清理河道垃圾", lead_unit=fgj, deadline=today - d(days=15)
        ),
    ]
    session.add_all(tasks)
    session.flush()
    session.add_all(
        [
            Assignment(task=tasks[0], unit=cgz, status=IN_PROGRESS, percent=30),
            Assignment(task=tasks[1], unit=cgz, status=NOT_STARTED),
            Assignment(task=tasks[1], unit=hxx, status=NOT_STARTED),
            Assignment(task=tasks[2], unit=cgz, status=NOT_STARTED),
            Assignment(
                task=tasks[3],
                unit=fgj,
                status=REPORTED,
                percent=100,
                reported_at=dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC),
            ),
            Assignment(
                task=tasks[4],
                unit=hxx,
                status=CLOSED,
                percent=100,
                closed_at=dt.datetime(2026, 11, 9, 2, 0, tzinfo=dt.UTC),
            ),
        ]
    )
    session.flush()


def two_published_weeks(rt: Runtime) -> None:
    """河西乡 also had #3 (due 11-20) and finished it on time, 城关镇 did not; weeks
    11-09…15 (河西乡 closed #5) and 11-16…22 are published: a red line, a black line,
    movement and a two-point trend for 河西乡."""
    from sqlalchemy import select

    from schedules.board import period_bounds

    with rt.sessions() as s:
        s.add(
            Assignment(
                task=s.scalars(select(Task).where(Task.code == 3)).one(),
                unit=s.scalars(select(Unit).where(Unit.code == "HXX")).one(),
                status=CLOSED,
                percent=100,
                reported_at=dt.datetime(2026, 11, 19, 2, tzinfo=dt.UTC),
            )
        )
        s.flush()
        for day in (dt.date(2026, 11, 10), dt.date(2026, 11, 17)):
            freeze(s, rt, "week", *period_bounds("week", day), day + dt.timedelta(days=6))
        s.commit()


def freeze(
    session: Session, rt: Runtime, kind: str, start: dt.date, end: dt.date, as_of: dt.date
) -> Board:
    """Publish (freeze) a period as of `as_of`, with the runtime's rules, calendar and clock."""
    return publish(session, rt.config.rules, rt.calendar, kind, start, end, as_of, rt.now())


def holiday_county(rt: Runtime) -> None:
    """Township A (two items, a leader, a head on leave until 12 Oct), department B (one item
    with a milestone and a deadline inside 国庆, no leader), and the supervision office."""
    with rt.sessions() as s:
        a = Unit(code="A", name="城关镇", kind="township", webhook_keys=["key-a"])
        b = Unit(code="B", name="县应急局", kind="department", webhook_keys=["key-b"])
        dcs = Unit(code="DCS", name="督查室", kind="office", webhook_keys=["key-dcs"])
        s.add_all([a, b, dcs])
        s.flush()
        liaison = Member(userid="a_liaison", name="联络员", unit=a, roles=["liaison"])
        head = Member(userid="a_head", name="负责人", unit=a, roles=["head"])
        leader = Member(userid="a_leader", name="李副镇长", unit=a, roles=["leader"])
        deputy = Member(userid="a_deputy", name="代办人", unit=a, roles=[])
        b_liaison = Member(userid="b_liaison", name="应急联络员", unit=b, roles=["liaison"])
        s.add_all([liaison, head, leader, deputy, b_liaison])
        s.flush()
        a.leader = leader
        head.leave_until = dt.date(2026, 10, 12)  # on leave: the stand-in is mentioned instead
        head.stand_in = deputy
        kw = KeyWork(name="安全生产")
        t1 = Task(code=1, key_work=kw, content="排查燃气隐患", deadline=dt.date(2026, 10, 9))
        t2 = Task(code=2, key_work=kw, content="整改消防通道", deadline=dt.date(2026, 9, 29))
        # Due on Saturday 3 Oct, inside 国庆: due on Wed 30 Sep, the last workday before it.
        # Its milestone is 4 workdays before that: Wed 23 Sep.
        t3 = Task(
            code=3,
            key_work=kw,
            content="应急预案修订",
            deadline=dt.date(2026, 10, 3),
            plan=[{"name": "摸底排查", "offset": 4}],
        )
        s.add_all(
            [
                kw,
                t1,
                t2,
                t3,
                Assignment(task=t1, unit=a),
                Assignment(task=t2, unit=a, status=IN_PROGRESS),
                Assignment(task=t3, unit=b),
            ]
        )
        s.commit()


# ---- the office's ledger sheet, as offices write it ------------------------------------
HEADER = [
    "序号",
    "重点工作",
    "任务内容",
    "牵头单位",
    "责任单位",
    "完成时限（年月日）",
    "关键节点",
    "分值",
]


def workbook(rows: list[list[Any]], merges: tuple[str, ...] = ()) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2026年度重点工作任务推进台账"])  # a title above the header, as offices do
    ws.merge_cells("A1:H1")
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


OFFICE_SHEET = [
    ["一、河湖长制"],  # row 3: a section row spanning the sheet
    [1, None, " 建立 河长 巡河 制度 ", "县发改局", "城关镇、 河西乡", "9月底", "", 2],
    [2, None, "清理河道四乱", "县发改局", "各乡镇", "2026年6月底前完成排查；12月31日前全面完成"],
    [
        3,
        "安全生产",
        "开展燃气安全专项整治",
        "",
        "县发改局",
        dt.datetime(2026, 10, 12),
        "9月30日前完成方案；验收（前1个工作日）",
        "1.5分",
    ],
    [4, None, "排查自建房安全隐患", "县发改局", "城关镇人民政府", "2026-11-30"],
]


def office_sheet() -> io.BytesIO:
    # 重点工作 merged down over rows 6–7, as sheets group tasks under their key work.
    return workbook(OFFICE_SHEET, merges=("A3:H3", "B6:B7"))
