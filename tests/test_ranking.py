"""Rankings through the database: frozen snapshots, streaks across weeks, the broadcast."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.devtools.demo import load_demo
from bot.inbound.pipeline import handle_message
from bot.runtime import Runtime
from bot.scheduler import board_broadcast, publish
from models import CLOSED, Assignment, KeyWork, Outbox, RankingSnapshot, Task, Unit
from schedules.board import compute, period_bounds
from schedules.periods import week_window
from tests.conftest import Clock
from tests.factories import freeze

D = dt.date
UTC = dt.UTC


def two_weeks(rt: Runtime) -> None:
    """Four townships, two weeks; 河西乡 fails both weeks, 城关镇 improves."""
    with rt.sessions() as s:
        units = [
            Unit(code=c, name=n, kind="township", webhook_keys=[f"key-{c}"])
            for c, n in (
                ("CGZ", "城关镇"),
                ("HXX", "河西乡"),
                ("DBZ", "东坝镇"),
                ("NSX", "南山乡"),
                ("LLX", "柳林乡"),
                ("SMZ", "石门镇"),
            )
        ]
        office = Unit(code="DCS", name="督查室", kind="office", webhook_keys=["key-dcs"])
        kw = KeyWork(name="安全生产")
        s.add_all([*units, office, kw])
        s.flush()
        code = 0
        # (unit, deadline, done) per week; done None = still open
        plan = {
            D(2026, 11, 17): [
                ("CGZ", None),
                ("HXX", None),
                ("DBZ", 0),
                ("NSX", 0),
                ("LLX", 0),
                ("SMZ", 1),
            ],
            D(2026, 11, 24): [
                ("CGZ", 0),
                ("HXX", None),
                ("DBZ", 2),
                ("NSX", 0),
                ("LLX", 0),
                ("SMZ", None),
            ],
        }
        for deadline, rows in plan.items():
            for unit_code, late in rows:
                code += 1
                t = Task(code=code, key_work=kw, content=f"任务{code}", deadline=deadline)
                a = Assignment(task=t, unit=next(u for u in units if u.code == unit_code))
                if late is not None:
                    done = deadline + dt.timedelta(days=late)
                    a.status = CLOSED
                    a.reported_at = dt.datetime(done.year, done.month, done.day, 8, tzinfo=UTC)
                s.add_all([t, a])
        s.commit()


def test_weekly_publication_streaks_and_immutability(rt: Runtime, clock: Clock) -> None:
    two_weeks(rt)
    with rt.sessions() as s:
        first = freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 20))
        s.commit()
        second = freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 24)), D(2026, 11, 27))
        s.commit()
        names = {str(u.id): u.code for u in s.scalars(select(Unit))}

    def table(board: object) -> list[tuple[str, float, int, bool, bool, int, int | None]]:
        return [
            (names[r.unit_code], r.score, r.rank, r.red, r.black, r.black_streak, r.movement)
            for r in board.groups["township"]
        ]  # type: ignore[attr-defined]

    # (unit, score, rank, red, black, black streak, places gained)
    assert table(first) == [
        ("DBZ", 100.0, 1, True, False, 0, None),
        ("LLX", 100.0, 1, True, False, 0, None),  # exact ties share the rank
        ("NSX", 100.0, 1, True, False, 0, None),
        ("SMZ", 90.0, 4, False, True, 1, None),  # one workday late
        ("CGZ", 0.0, 5, False, True, 1, None),
        ("HXX", 0.0, 5, False, True, 1, None),
    ]
    assert table(second) == [
        ("CGZ", 100.0, 1, True, False, 0, 4),  # 赶超进位: up four places
        ("LLX", 100.0, 1, True, False, 0, 0),
        ("NSX", 100.0, 1, True, False, 0, 0),
        ("DBZ", 80.0, 4, False, True, 1, -3),  # two workdays late
        ("HXX", 0.0, 5, False, True, 2, 0),  # black list two weeks running
        ("SMZ", 0.0, 5, False, True, 2, -1),
    ]
    # Later data (河西乡 finally reports week one's item) never changes a published week.
    with rt.sessions() as s:
        a = s.scalars(select(Assignment).join(Assignment.task).where(Task.code == 2)).one()
        a.status, a.reported_at = CLOSED, dt.datetime(2026, 11, 26, 8, tzinfo=UTC)
        s.commit()
        again = freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 28))
        fresh = compute(
            s,
            rt.config.rules,
            rt.calendar,
            "week",
            *period_bounds("week", D(2026, 11, 17)),
            D(2026, 11, 28),
        )
        assert again.frozen and table(again) == table(first)
        assert next(x for x in table(fresh) if x[0] == "HXX")[1] == 40.0  # 7 workdays late
        assert len(s.scalars(select(RankingSnapshot)).all()) == 12


def test_broadcast_fits_the_markdown_limit_and_carries_each_units_line(rt: Runtime) -> None:
    with rt.sessions() as s:
        load_demo(s, D(2026, 11, 25), rt.tz)
        s.commit()
        board = freeze(s, rt, "month", D(2026, 11, 1), D(2026, 11, 30), D(2026, 11, 27))
        sent = board_broadcast(rt)(s, board, rt.now())
        s.commit()
        rows = s.scalars(select(Outbox).where(Outbox.msg_type == "markdown")).all()
    assert sent == len(rows) == 46  # 45 unit groups and the supervision office
    assert all(len(r.payload["content"].encode()) <= 4096 for r in rows)
    cgz = next(r for r in rows if r.target == "demo-T01")
    assert "**城关镇**" in cgz.payload["content"] and "名（" in cgz.payload["content"]
    office = next(r for r in rows if r.target == "demo-DCS")
    assert "（全表）" in office.payload["content"]
    with rt.sessions() as s:  # a second broadcast of the same period sends nothing
        assert board_broadcast(rt)(s, board, rt.now()) == 0


def test_publish_due_only_at_the_configured_hour_and_once(rt: Runtime) -> None:
    two_weeks(rt)
    tz = rt.tz
    assert publish(rt, dt.datetime(2026, 11, 27, 16, 59, tzinfo=tz)) == 0  # Friday, early
    assert publish(rt, dt.datetime(2026, 11, 26, 17, 30, tzinfo=tz)) == 0  # Thursday
    assert publish(rt, dt.datetime(2026, 11, 27, 17, 0, tzinfo=tz)) == 7
    assert publish(rt, dt.datetime(2026, 11, 27, 17, 1, tzinfo=tz)) == 0


def test_a_missed_publication_is_caught_up_once_and_never_at_night(rt: Runtime) -> None:
    two_weeks(rt)
    tz = rt.tz
    # Back at 22:00 on the ranking Friday: quiet hours, nothing is broadcast.
    assert publish(rt, dt.datetime(2026, 11, 27, 22, 0, tzinfo=tz)) == 0
    # Down all of Tuesday 1 December (the month's first workday): Wednesday publishes
    # November's evaluation, once.
    assert publish(rt, dt.datetime(2026, 12, 2, 17, 0, tzinfo=tz)) == 7
    assert publish(rt, dt.datetime(2026, 12, 3, 17, 0, tzinfo=tz)) == 0
    with rt.sessions() as s:
        months = s.scalars(
            select(RankingSnapshot.period_start).where(RankingSnapshot.period_kind == "month")
        ).all()
    assert set(months) == {D(2026, 11, 1)}


def test_ranking_in_chat(rt: Runtime, clock: Clock) -> None:
    two_weeks(rt)
    with rt.sessions() as s:
        from models import Member

        unit = s.scalars(select(Unit).where(Unit.code == "HXX")).one()
        s.add(Member(userid="hxx_liaison", name="赵联络", unit=unit, roles=["liaison"]))
        s.commit()
    clock.set(dt.datetime(2026, 11, 27, 2, tzinfo=UTC))
    reply = handle_message(
        rt, channel="cli", sender="hxx_liaison", text="红黑榜", msg_key="t:rank"
    ).reply
    assert "本周实时排名" in reply and "红榜：城关镇" in reply
    assert "河西乡：0 分，乡镇第 5/6 名" in reply
    with rt.sessions() as s:
        office = s.scalars(select(Unit).where(Unit.code == "DCS")).one()
        s.add(Member(userid="dcs_sup", name="钱督查", unit=office, roles=["supervisor"]))
        s.commit()
    reply = handle_message(rt, channel="cli", sender="dcs_sup", text="排名", msg_key="t:r2").reply
    assert "红榜：城关镇" in reply and "“排名”页" in reply and "没有到期事项" not in reply


def test_excel_export_of_a_published_week(rt: Runtime, tmp_path: object) -> None:
    from openpyxl import load_workbook

    from bot.excel.ranking import export_ranking
    from schedules.board import stored

    two_weeks(rt)
    with rt.sessions() as s:
        freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 24)), D(2026, 11, 27))
        s.commit()
        board = stored(s, "week", *period_bounds("week", D(2026, 11, 24)))
        assert board is not None
        path = export_ranking(board, f"{tmp_path}/rank.xlsx", D(2026, 11, 28))
    wb = load_workbook(path)
    assert wb.sheetnames == ["乡镇", "部门"]
    rows = list(wb["乡镇"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:6] == ("名次", "单位", "得分", "较上期", "红黑榜", "扣分事项")
    by_unit = {r[1]: r for r in rows[1:]}
    assert by_unit["城关镇"][:5] == (1, "城关镇", 100, "上期未参评", "红榜")
    assert by_unit["东坝镇"][2:6] == (80, "上期未参评", "黑榜", "#9 逾期2个工作日完成 -20")
    assert by_unit["河西乡"][4] == "黑榜"


def test_board_picture_is_a_valid_png_showing_every_ranked_unit(rt: Runtime) -> None:
    import base64
    import hashlib
    import io

    from PIL import Image

    from bot.delivery.picture import cjk_font, render_board
    from handlers.notices import board_data
    from tests.conftest import service_missing

    if cjk_font() is None:
        service_missing("a CJK font (fonts-noto-cjk)", FileNotFoundError("no CJK font"))
    with rt.sessions() as s:
        load_demo(s, D(2026, 11, 25), rt.tz)
        s.commit()
        board = freeze(s, rt, "month", D(2026, 11, 1), D(2026, 11, 30), D(2026, 11, 27))
        # As the broadcast draws it: with the issuing office and the day it went out.
        from bot.notice import office_name

        day = rt.config.rules.local_day(rt.now())
        drawn = render_board({**board_data(board), "today": day, "office": office_name(s)})
        board_broadcast(rt)(s, board, rt.now())
        s.commit()
        images = s.scalars(select(Outbox).where(Outbox.msg_type == "image")).all()
    assert drawn is not None
    img = Image.open(io.BytesIO(drawn.png))
    assert img.format == "PNG" and img.width > 800 and len(drawn.png) < 2 * 1024 * 1024
    ranked = {(g, r.unit_code) for g, rows in board.groups.items() for r in rows}
    assert len(drawn.rows) == len(ranked) > 20
    names = {board.units[r.unit_code].name for rows in board.groups.values() for r in rows}
    assert {name for _, name, _ in drawn.rows} == names
    assert len(images) == 46  # every unit group robot, and the supervision office
    payload = images[0].payload
    raw = base64.b64decode(payload["base64"])
    assert hashlib.md5(raw).hexdigest() == payload["md5"] and raw == drawn.png


def test_monthly_evaluation_on_the_next_months_first_workday_and_the_trend(rt: Runtime) -> None:
    from schedules.board import trend

    two_weeks(rt)
    tz = rt.tz
    assert publish(rt, dt.datetime(2026, 11, 27, 17, 0, tzinfo=tz)) == 7  # the week only
    assert publish(rt, dt.datetime(2026, 11, 30, 17, 5, tzinfo=tz)) == 0  # 30日 not over
    assert publish(rt, dt.datetime(2026, 12, 1, 16, 0, tzinfo=tz)) == 0  # not yet 17:00
    assert publish(rt, dt.datetime(2026, 12, 1, 17, 5, tzinfo=tz)) == 7  # November
    assert publish(rt, dt.datetime(2026, 12, 2, 17, 5, tzinfo=tz)) == 0
    with rt.sessions() as s:
        kinds = {
            (k, a, b)
            for k, a, b in s.execute(
                select(
                    RankingSnapshot.period_kind,
                    RankingSnapshot.period_start,
                    RankingSnapshot.period_end,
                )
            ).all()
        }
        assert kinds == {
            ("week", D(2026, 11, 20), D(2026, 11, 26)),
            ("month", D(2026, 11, 1), D(2026, 11, 30)),
        }
        freeze(s, rt, "week", *week_window(D(2026, 11, 20), None), D(2026, 11, 20))
        s.commit()
        cgz = s.scalars(select(Unit).where(Unit.code == "CGZ")).one()
        weeks = trend(s, cgz.id)
    assert [(w["start"], w["rank"], w["score"]) for w in weeks] == [
        ("2026-11-13", 5, 0.0),
        ("2026-11-20", 1, 100.0),
    ]


def test_items_due_on_publication_day_weekend_or_month_end_are_judged_next_time(
    rt: Runtime,
) -> None:
    """An item due on the publishing Friday, a Sunday or the 30th is not yet overdue when the
    period is published; it must be judged by the next publication, not escape."""
    tz = rt.tz
    with rt.sessions() as s:
        units = {
            c: Unit(code=c, name=n, kind="township", webhook_keys=[f"key-{c}"])
            for c, n in (("CGZ", "城关镇"), ("HXX", "河西乡"), ("DBZ", "东坝镇"))
        }
        kw = KeyWork(name="河湖长制")
        s.add_all([*units.values(), kw])
        # (unit, deadline, reported on); deadlines: Fri 27th (a publication day), Sun 29th,
        # Mon 30th (the month's last day)
        plan = [
            ("CGZ", D(2026, 11, 27), D(2026, 11, 30)),  # 1 workday late: 90
            ("HXX", D(2026, 11, 29), None),  # never done: 0
            ("DBZ", D(2026, 11, 30), D(2026, 11, 30)),  # on time: 100
        ]
        for code, (unit, deadline, done) in enumerate(plan, 1):
            t = Task(code=code, key_work=kw, content=f"任务{code}", deadline=deadline)
            a = Assignment(task=t, unit=units[unit])
            if done is not None:
                a.status = CLOSED
                a.reported_at = dt.datetime(done.year, done.month, done.day, 1, tzinfo=UTC)
            s.add_all([t, a])
        s.commit()
    # Friday 27th: the window 20–26 has nothing due yet, so nothing is stored.
    publish(rt, dt.datetime(2026, 11, 27, 17, 0, tzinfo=tz))
    publish(rt, dt.datetime(2026, 12, 1, 17, 0, tzinfo=tz))  # November's evaluation
    publish(rt, dt.datetime(2026, 12, 4, 17, 0, tzinfo=tz))  # the week 27th–3rd
    with rt.sessions() as s:
        names = {u.id: u.code for u in s.scalars(select(Unit))}
        got = {
            (k, a.day, names[u], score)
            for k, a, u, score in s.execute(
                select(
                    RankingSnapshot.period_kind,
                    RankingSnapshot.period_start,
                    RankingSnapshot.unit_id,
                    RankingSnapshot.score,
                )
            )
        }
    assert got == {
        ("month", 1, "CGZ", 90.0),
        ("month", 1, "HXX", 0.0),
        ("month", 1, "DBZ", 100.0),
        ("week", 27, "CGZ", 90.0),  # window 27th–3rd, judged on the 4th
        ("week", 27, "HXX", 0.0),
        ("week", 27, "DBZ", 100.0),
    }


def test_rank_command_json_and_publish_only_after_the_period(
    rt: Runtime, clock: Clock, tmp_path: object
) -> None:
    import json
    from types import SimpleNamespace

    from click.testing import CliRunner

    from bot.cli.rank import rank

    two_weeks(rt)
    state = SimpleNamespace(runtime=rt)
    runner = CliRunner()
    clock.set(dt.datetime(2026, 11, 26, 2, tzinfo=UTC))  # Thursday 26th, 10:00
    out = runner.invoke(rank, ["--json"], obj=state)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    # the window the Friday publication will judge: 20th–26th (nothing published before)
    assert (data["period"], data["from"], data["to"], data["frozen"]) == (
        "week",
        "2026-11-20",
        "2026-11-26",
        False,
    )
    towns = {r["name"]: (r["rank"], r["score"]) for r in data["groups"][0]["rows"]}
    assert towns["城关镇"] == (1, 100.0) and towns["东坝镇"] == (4, 80.0)
    assert towns["河西乡"] == (5, 0.0) and "柳林乡" in towns
    refused = runner.invoke(rank, ["--publish"], obj=state)
    assert refused.exit_code == 2 and "not over yet" in refused.output
    clock.set(dt.datetime(2026, 11, 27, 2, tzinfo=UTC))  # Friday: the window is over
    ok = runner.invoke(rank, ["--publish", "--xlsx", f"{tmp_path}/w.xlsx"], obj=state)
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(
        rank,
        ["--period", "week", "--from", "2026-11-20", "--to", "2026-11-26", "--json"],
        obj=state,
    )
    assert json.loads(again.stdout)["frozen"] is True
    # after publication the open window moves on to the 27th–3rd
    live = json.loads(runner.invoke(rank, ["--json"], obj=state).stdout)
    assert (live["from"], live["to"]) == ("2026-11-27", "2026-12-03")
    month = runner.invoke(
        rank,
        ["--period", "month", "--from", "2026-11-01", "--to", "2026-11-30", "--publish"],
        obj=state,
    )
    assert month.exit_code == 2  # the 30th is still to come
    bad = runner.invoke(rank, ["--from", "2026-11-30", "--to", "2026-11-01"], obj=state)
    assert bad.exit_code == 2


def test_a_large_county_still_gets_one_message_per_unit_within_the_byte_limit(
    rt: Runtime,
) -> None:
    """120 units, 20 late or missed items each in a month, 14 townships tied at the top:
    every unit's message is one markdown message within 4096 UTF-8 bytes and
    carries its own line; the office's full table comes in numbered parts."""
    with rt.sessions() as s:
        kw = KeyWork(name="生态环境保护")
        units = [
            Unit(
                code=f"U{i:03d}",
                name=f"{'某某乡镇' if i < 40 else '县某某局办'}{i:03d}",
                kind="township" if i < 40 else "department",
                webhook_keys=[f"key-{i}"],
            )
            for i in range(120)
        ]
        office = Unit(code="DCS", name="督查室", kind="office", webhook_keys=["key-dcs"])
        s.add_all([kw, office, *units])
        code = 0
        for i, unit in enumerate(units):
            for j in range(20):
                code += 1
                deadline = D(2026, 11, 2) + dt.timedelta(days=j)
                t = Task(code=code, key_work=kw, content=f"任务{code}", deadline=deadline)
                a = Assignment(task=t, unit=unit)
                if i < 40 or j % 3:  # townships in three tied groups; departments miss some
                    done = deadline + dt.timedelta(days=2 + i % 3)
                    a.status = CLOSED
                    a.reported_at = dt.datetime(done.year, done.month, done.day, 1, tzinfo=UTC)
                s.add_all([t, a])
        s.commit()
        board = freeze(s, rt, "month", D(2026, 11, 1), D(2026, 11, 30), D(2026, 12, 1))
        board_broadcast(rt)(s, board, rt.now())
        s.commit()
        rows = s.scalars(select(Outbox).where(Outbox.msg_type == "markdown")).all()
    assert all(len(r.payload["content"].encode("utf-8")) <= 4096 for r in rows)
    by_target: dict[str, list[str]] = {}
    for r in rows:
        by_target.setdefault(r.target, []).append(r.payload["content"])
    for unit in units:
        (text,) = by_target[f"key-{int(unit.code[1:])}"]
        assert f"**{unit.name}**" in text and "名（上期未参评）" in text
    one = by_target["key-50"][0]
    assert "另有 12 项扣分" in one  # 20 deductions: the 8 costliest named, 12 counted
    assert "等 14 个单位" in one  # the 14 tied townships on the red list
    office_parts = by_target["key-dcs"]
    assert len(office_parts) > 1 and office_parts[0].startswith("（1/")
    assert all(unit.name in "".join(office_parts) for unit in units)
