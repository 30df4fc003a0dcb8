"""Handlers: matching tested on its own; actions through the same path as a callback."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.inbound.pipeline import handle_message
from bot.runtime import Runtime
from handlers.base import Context
from handlers.listing import FallbackHandler, HelpHandler, ListHandler
from handlers.report import DoneHandler, ProgressHandler
from handlers.review import ReviewHandler
from handlers.router import DEFAULT_HANDLERS, route
from models import (
    Assignment,
    AuditLog,
    Extension,
    InboundMessage,
    Member,
    Outbox,
    Progress,
    Task,
    Unit,
)
from tests.conftest import County


def ctx_for(text: str, member: Any = None, session: Any = None) -> Context:
    from bot.config import load_config
    from schedules.calendar import WorkCalendar

    now = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    return Context(
        session=session,
        rules=load_config(environ={}).rules,
        calendar=WorkCalendar(),
        boards=lambda _session, _today: None,  # type: ignore[arg-type,return-value]
        member=member,
        text=text,
        now=now,
        today=now.date(),
    )


@pytest.mark.parametrize(
    ("text", "handler"),
    [
        ("完成 #3", DoneHandler),
        ("ＤＯＮＥ", DoneHandler),
        ("进度 40% 正在施工", ProgressHandler),
        ("任务", ListHandler),
        ("待办", ListHandler),
        ("帮助", HelpHandler),
        ("销号 #4 县发改局", ReviewHandler),
        ("天气不错", FallbackHandler),
    ],
)
def test_each_handler_matches_its_own_messages(text: str, handler: type) -> None:
    ctx = ctx_for(text)
    matching = [h for h in DEFAULT_HANDLERS if h.name != "pick" and h.check(ctx)]
    assert type(matching[0]) is handler


def test_done_handler_does_not_match_progress() -> None:
    assert DoneHandler().check(ctx_for("进度 30%")) is None
    assert ProgressHandler().check(ctx_for("完成 #1")) is None
    assert ListHandler().check(ctx_for("任务12")) is None


def say(rt: Runtime, sender: str, text: str, msg_key: str | None = None) -> str:
    return handle_message(
        rt, channel="cli", sender=sender, text=text, msg_key=msg_key or f"t:{uuid.uuid4()}"
    ).reply


def status_of(rt: Runtime, code: int, unit_code: str) -> str:
    with rt.sessions() as s:
        return s.scalar(
            select(Assignment.status)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code == code, Unit.code == unit_code)
        )


def count(rt: Runtime, model: Any) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_task_list_shows_codes_and_lights(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "任务")
    assert "城关镇" in reply and "3 项" in reply
    # overdue first (red), then due in two days (yellow), then on track (green)
    assert reply.index("🔴 #3") < reply.index("🟡 #2") < reply.index("🟢 #1")
    assert "#4" not in reply and "#5" not in reply


def test_done_with_ref_moves_to_review_and_notifies_supervisors(
    rt: Runtime, county: County
) -> None:
    reply = say(rt, county.liaison_many, "完成 #3 通道已清理")
    assert "已收到" in reply and "待审核" in reply
    assert status_of(rt, 3, "CGZ") == "reported"
    with rt.sessions() as s:
        a = s.scalar(select(Assignment).join(Assignment.task).where(Task.code == 3))
        assert a is not None and a.percent == 100 and a.reported_at is not None
        entry = s.scalar(select(Progress).where(Progress.assignment_id == a.id))
        assert entry is not None and entry.kind == "done" and entry.text == "通道已清理"
        assert entry.inbound_id is not None
        out = s.scalars(select(Outbox)).all()
        assert [(o.channel, o.target) for o in out] == [("webhook", "key-dcs")]
        assert "城关镇" in out[0].payload["content"] and "#3" in out[0].payload["content"]
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions == ["claim_done", "message"]


def test_claim_for_another_units_item_is_refused_and_changes_nothing(
    rt: Runtime, county: County
) -> None:
    reply = say(rt, county.liaison_one, "完成 #3")
    assert "不是河西乡的责任事项" in reply
    assert status_of(rt, 3, "CGZ") == "not_started"
    assert count(rt, Progress) == 0 and count(rt, Outbox) == 0


def test_unknown_sender_is_refused_and_nothing_is_recorded(rt: Runtime, county: County) -> None:
    for sender in ("stranger", "gone"):  # never registered; deactivated
        reply = say(rt, sender, "完成 #3")
        assert "尚未登记" in reply
    assert count(rt, InboundMessage) == 0 and count(rt, AuditLog) == 0
    assert status_of(rt, 3, "CGZ") == "not_started"


def test_bare_done_with_one_open_item_needs_no_ref(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_one, "完成")
    assert "#2" in reply and "已收到" in reply
    assert status_of(rt, 2, "HXX") == "reported"
    assert status_of(rt, 2, "CGZ") == "not_started"


def test_bare_done_with_several_items_asks_and_the_number_picks(
    rt: Runtime, county: County
) -> None:
    reply = say(rt, county.liaison_many, "完成 已整改")
    assert "请回复序号" in reply
    assert "1. 🔴 #3" in reply and "2. 🟡 #2" in reply and "3. 🟢 #1" in reply
    assert count(rt, Progress) == 0
    reply = say(rt, county.liaison_many, "2")
    assert "#2" in reply and "已收到" in reply and "已整改" in reply
    assert status_of(rt, 2, "CGZ") == "reported"
    # the pick is used up: a second "2" is not understood
    assert "没有看懂" in say(rt, county.liaison_many, "2")


def test_pick_expires(rt: Runtime, county: County, clock: Any) -> None:
    say(rt, county.liaison_many, "完成")
    clock.advance(seconds=rt.config.rules.pick_ttl_seconds + 1)
    assert "没有看懂" in say(rt, county.liaison_many, "1")
    assert count(rt, Progress) == 0


def test_pick_out_of_range(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "完成")
    assert "1–3" in say(rt, county.liaison_many, "7")


def test_pick_belongs_to_its_member(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "完成")
    assert "没有看懂" in say(rt, county.head_many, "1")


def test_progress_updates_percent_and_status(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "进度 #2 60% 已完成选址")
    assert "60%" in reply and "已完成选址" in reply
    assert status_of(rt, 2, "CGZ") == "in_progress"
    with rt.sessions() as s:
        a = s.scalar(
            select(Assignment)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code == 2, Unit.code == "CGZ")
        )
        assert a is not None and a.percent == 60


def test_progress_going_down_is_pointed_out(rt: Runtime, county: County) -> None:
    first = say(rt, county.liaison_many, "进度 #2 60%")
    assert "下调" not in first and "完成时限" in first
    reply = say(rt, county.liaison_many, "进度 #2 40% 重新核算")
    assert "进度由 60% 下调为 40%" in reply


def test_a_returned_item_goes_back_to_its_last_reported_progress(
    rt: Runtime, county: County
) -> None:
    say(rt, county.liaison_many, "进度 #3 45%")
    say(rt, county.liaison_many, "完成 #3 通道已清理")
    with rt.sessions() as s:
        claim = s.scalars(select(Outbox.payload)).one()["content"]
    assert "报告人：" in claim and "\n说明：通道已清理\n" in claim  # the note on its own line
    say(rt, county.supervisor, "退回 #3 城关镇 缺少照片")
    with rt.sessions() as s:
        a = s.scalar(select(Assignment).join(Assignment.task).where(Task.code == 3))
        assert a is not None and a.status == "in_progress" and a.percent == 45


@pytest.mark.parametrize(
    ("text", "expected"),
    [("进度 #2 130%", "0–100%"), ("进度 #2 100%", "已完成吗？回复 1 确认"), ("进度", "请写明进度")],
)
def test_progress_rejects_bad_input(rt: Runtime, county: County, text: str, expected: str) -> None:
    assert expected in say(rt, county.liaison_many, text)
    assert count(rt, Progress) == 0


def test_reporting_twice_is_refused(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "完成 #3")
    assert "无需重复报告" in say(rt, county.liaison_many, "完成 #3")
    assert count(rt, Progress) == 1


def test_same_message_key_takes_effect_once(rt: Runtime, county: County) -> None:
    first = say(rt, county.liaison_many, "完成 #3", msg_key="wecom:123")
    again = say(rt, county.liaison_many, "完成 #3", msg_key="wecom:123")
    assert first == again
    assert count(rt, InboundMessage) == 1 and count(rt, Progress) == 1 and count(rt, Outbox) == 1


def test_no_such_task(rt: Runtime, county: County) -> None:
    assert "未找到任务 #99" in say(rt, county.liaison_many, "完成 #99")


def test_help_lists_usage_and_supervisor_commands_only_for_supervisors(
    rt: Runtime, county: County
) -> None:
    assert "完成 #12" in say(rt, county.liaison_many, "帮助")
    assert "销号" not in say(rt, county.liaison_many, "帮助")
    assert "销号" in say(rt, county.supervisor, "help")


def test_supervisor_closes_and_rejects(rt: Runtime, county: County) -> None:
    assert "只能由督查室" in say(rt, county.liaison_dept, "销号 #4 县发改局")
    assert status_of(rt, 4, "FGJ") == "reported"
    assert "需要写明原因" in say(rt, county.supervisor, "退回 #4 县发改局")
    reply = say(rt, county.supervisor, "退回 #4 县发改局 佐证材料不全")
    assert "已退回" in reply and status_of(rt, 4, "FGJ") == "in_progress"
    say(rt, county.liaison_dept, "完成 #4 已补充材料")
    reply = say(rt, county.supervisor, "销号 #4")  # the only unit awaiting review
    assert "已销号" in reply and status_of(rt, 4, "FGJ") == "closed"
    with rt.sessions() as s:
        targets = s.scalars(select(Outbox.target).order_by(Outbox.id)).all()
        # reject → unit (no group robot: its members by app message), claim → DCS, close → unit
        assert targets == ["fgj_liaison", "key-dcs", "fgj_liaison"]


def test_short_and_unknown_unit_names_never_act_on_another_unit(
    rt: Runtime, county: County
) -> None:
    # #4 awaits review for 县发改局 only: a name that is not that unit must not fall back
    assert "没有找到单位“城官镇”" in say(rt, county.supervisor, "销号 #4 城官镇")
    assert "城关镇" in say(rt, county.supervisor, "销号 #4 城关")  # 城关镇 has no #4 row
    assert status_of(rt, 4, "FGJ") == "reported"
    reply = say(rt, county.supervisor, "退回 #4 发改局，佐证材料不全")
    assert "已退回" in reply and "佐证材料不全" in reply
    assert status_of(rt, 4, "FGJ") == "in_progress"


def test_urge_names_units_and_passes_the_offices_words(rt: Runtime, county: County) -> None:
    reply = say(rt, county.supervisor, "催办 #2 河西 请今天下班前报送")
    assert "河西乡" in reply and "城关镇" not in reply
    with rt.sessions() as s:
        (row,) = s.scalars(select(Outbox).where(Outbox.dedupe_key.like("urge:%"))).all()
    assert row.target == "key-hxx" and "督查室：请今天下班前报送" in row.payload["content"]


def test_a_report_that_is_not_whole_is_not_recorded_as_done(rt: Runtime, county: County) -> None:
    for text in ("完成了一半", "完成 #3 已清理一半，正在组织实施", "完成 #2 #3"):
        reply = say(rt, county.liaison_many, text)
        assert "已收到" not in reply, text
    assert count(rt, Progress) == 0
    assert "进度" in say(rt, county.liaison_many, "#3 完成率40%")
    assert status_of(rt, 3, "CGZ") == "in_progress"


def test_a_numbered_list_answers_only_the_next_message(rt: Runtime, county: County) -> None:
    assert "1." in say(rt, county.liaison_many, "完成")  # several open: a numbered list
    say(rt, county.liaison_many, "任务")
    assert "已收到" not in say(rt, county.liaison_many, "1")
    assert count(rt, Progress) == 0


def test_awaiting_review_lists_what_the_office_has_to_decide(rt: Runtime, county: County) -> None:
    reply = say(rt, county.supervisor, "待审核")
    assert "全县待审核 1 项" in reply and "#4 县发改局 报送重点项目清单" in reply
    assert "销号 #编号 单位" in reply
    assert "城关镇目前没有待审核的事项" in say(rt, county.liaison_many, "待审核")
    say(rt, county.liaison_many, "完成 #3")
    assert "城关镇待审核 1 项" in say(rt, county.liaison_many, "待审核")
    assert "全县待审核 2 项" in say(rt, county.supervisor, "待审核")


def test_review_of_item_not_awaiting_review(rt: Runtime, county: County) -> None:
    assert "不在待审核状态" in say(rt, county.supervisor, "销号 #3 城关镇")


def test_route_picks_first_matching_handler(rt: Runtime, county: County) -> None:
    with rt.sessions() as s:
        member = s.scalar(select(Member).where(Member.userid == county.liaison_many))
        handler, match = route(ctx_for("完成 #1", member=member, session=s))
        assert handler.name == "done" and match.ref == 1


def test_extension_request_approval_moves_the_deadline(rt: Runtime, county: County) -> None:
    from models import Extension

    reply = say(rt, county.liaison_many, "延期 #1 至12月31日 原因：设备未到货")
    assert "已提交延期申请" in reply and "12月31日" in reply and "设备未到货" in reply
    assert "已有一项延期申请" in say(rt, county.liaison_many, "延期 #1 至明年1月5日")
    assert "只能由督查室" in say(rt, county.liaison_many, "批准延期 #1 城关镇")
    reply = say(rt, county.supervisor, "批准延期 #1")  # the only pending request
    assert "已批准" in reply and "12月31日" in reply
    with rt.sessions() as s:
        a = s.scalar(select(Assignment).join(Assignment.task).where(Task.code == 1))
        assert a is not None and a.deadline == dt.date(2026, 12, 31)
        ext = s.scalars(select(Extension)).one()
        assert ext.status == "approved" and ext.old_deadline == dt.date(2026, 12, 10)
        contents = [o.payload["content"] for o in s.scalars(select(Outbox).order_by(Outbox.id))]
        assert "【延期申请】" in contents[0] and "【延期已批准】" in contents[1]


def test_extension_refusal_needs_a_reason_and_keeps_the_deadline(
    rt: Runtime, county: County
) -> None:
    say(rt, county.liaison_one, "延期 下周五 因天气")  # the only open item: #2
    assert "需要写明原因" in say(rt, county.supervisor, "驳回延期 #2 河西乡")
    assert "已驳回" in say(rt, county.supervisor, "驳回延期 #2 河西乡 理由不充分")
    with rt.sessions() as s:
        a = s.scalar(
            select(Assignment)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code == 2, Unit.code == "HXX")
        )
        assert a is not None and a.deadline_override is None


def test_extension_reason_leaves_the_date_words_out_and_dates_carry_their_year(
    rt: Runtime, county: County
) -> None:
    from models import Extension

    reply = say(rt, county.liaison_many, "延期 #1 到明年1月底前完成，原因：等省厅批复")
    assert "2027年1月31日" in reply and "12月10日" in reply  # the new year's date says so
    with rt.sessions() as s:
        ext = s.scalars(select(Extension)).one()
        assert ext.reason == "等省厅批复" and ext.new_deadline == dt.date(2027, 1, 31)
        notice = s.scalars(select(Outbox.payload)).one()["content"]
    assert "2027年1月31日" in notice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("延期 #1", "请写明延期到哪一天"),
        ("延期 #1 至11月26日", "无需延期"),
        ("延期 #1 至2026年13月40日 原因 下雨", "没有“2026年13月40日”这一天"),
        ("延期 #1 至2月30日 原因 下雨", "没有“2月30日”这一天"),
    ],
)
def test_extension_bad_requests(rt: Runtime, county: County, text: str, expected: str) -> None:
    assert expected in say(rt, county.liaison_many, text)


def test_urge_nudges_every_open_unit_and_mentions_liaison_and_head(
    rt: Runtime, county: County
) -> None:
    reply = say(rt, county.supervisor, "催办 #2")
    assert "城关镇" in reply and "河西乡" in reply
    with rt.sessions() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [r.target for r in rows] == ["key-cgz", "key-hxx"]
        assert rows[0].payload["mentioned_list"] == ["cgz_liaison", "cgz_head"]
        assert "【催办】" in rows[0].payload["content"]
    assert "只能由督查室" in say(rt, county.liaison_many, "催办 #2")


def test_likely_done_is_asked_and_recorded_on_the_answer(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "领导好，#3 基本完成")
    assert "#3" in reply and "回复 1 确认" in reply
    assert count(rt, Progress) == 0
    assert "已收到" in say(rt, county.liaison_many, "1")
    assert status_of(rt, 3, "CGZ") == "reported"


def test_a_numbered_question_answers_only_the_next_message(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "#3 100%")
    say(rt, county.liaison_many, "任务")
    say(rt, county.liaison_many, "1")
    assert status_of(rt, 3, "CGZ") == "not_started"


def test_another_units_words_are_not_recorded(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_one, "城关镇#2已完成")
    assert "城关镇" in reply and "没有记录" in reply
    assert count(rt, Progress) == 0


def test_title_fragment_names_the_one_open_item(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "消防通道已整改到位")
    assert status_of(rt, 3, "CGZ") == "reported"


def test_past_extension_date_is_refused_not_moved_to_next_year(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "#1 申请延期至11月20日")
    assert "已经过去" in reply
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Extension)) == 0


def test_extension_reason_is_the_reason_only(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "因雨雪天气影响施工，#1申请延期至12月20日")
    with rt.sessions() as s:
        ext = s.scalars(select(Extension)).one()
        assert ext.reason == "雨雪天气影响施工"
        assert ext.new_deadline == dt.date(2026, 12, 20)


def test_extension_on_an_item_reported_done_is_answered_as_such(
    rt: Runtime, county: County
) -> None:
    reply = say(rt, county.liaison_dept, "#4 申请延期至12月20日")
    assert "不能再申请延期" in reply and "无需重复报告" not in reply


def test_extension_by_a_span_counts_from_the_deadline(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "#1 申请延期一周")
    with rt.sessions() as s:
        ext = s.scalars(select(Extension)).one()
        assert ext.new_deadline == ext.old_deadline + dt.timedelta(days=7)


def test_two_reports_in_one_message_are_both_recorded(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "#3 已完成，#1 完成50%")
    assert status_of(rt, 3, "CGZ") == "reported"
    with rt.sessions() as s:
        a = s.scalar(select(Assignment).join(Assignment.task).where(Task.code == 1))
        assert a is not None and a.percent == 50 and a.status == "in_progress"


def test_acknowledgement_in_private_gets_a_short_hint(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "收到👌")
    assert "没有看懂" not in reply and len(reply) < 60
    assert count(rt, Progress) == 0


def test_urge_in_quiet_hours_waits_for_the_morning_unless_urgent(
    rt: Runtime, county: County, clock: Any
) -> None:
    clock.set(dt.datetime(2026, 11, 25, 18, 25, tzinfo=dt.UTC))  # 02:25 on the 26th in Shanghai
    reply = say(rt, county.supervisor, "催办 #3")
    assert "11月26日 08:00发出" in reply and "紧急" in reply
    say(rt, county.supervisor, "催办 #1 紧急")
    with rt.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.dedupe_key.like("urge:%"))).all()
        held = {r.payload["content"].split()[0]: r.next_attempt_at for r in rows}
    morning = dt.datetime(2026, 11, 26, 0, 0)
    at = {k: v.replace(tzinfo=None) for k, v in held.items()}
    assert sorted(at.values()) == [dt.datetime(2026, 11, 25, 18, 25), morning]


def test_urge_outside_quiet_hours_goes_at_once(rt: Runtime, county: County) -> None:
    reply = say(rt, county.supervisor, "催办 #3")
    assert "免打扰" not in reply
    with rt.sessions() as s:
        row = s.scalars(select(Outbox).where(Outbox.dedupe_key.like("urge:%"))).one()
        assert row.next_attempt_at.replace(tzinfo=None) == dt.datetime(2026, 11, 25, 2, 0)


def test_long_passive_reply_stays_within_wecom_limit_rest_via_outbox(
    rt: Runtime, county: County
) -> None:
    with rt.sessions() as s:
        cgz = s.scalar(select(Unit).where(Unit.code == "CGZ"))
        kw = s.scalars(select(Task)).first().key_work  # type: ignore[union-attr]
        for n in range(100, 160):
            task = Task(
                code=n,
                key_work=kw,
                content=f"第{n}个需要逐村逐户排查整改并建立台账的事项",
                lead_unit=cgz,
                deadline=dt.date(2026, 12, 20),
            )
            s.add(Assignment(task=task, unit=cgz, status="not_started"))
        s.commit()
    result = handle_message(
        rt, channel="wecom", sender=county.liaison_many, text="任务", msg_key="w:1"
    )
    assert 0 < len(result.reply.encode()) <= 2048
    with rt.sessions() as s:
        rest = s.scalars(select(Outbox).where(Outbox.dedupe_key.like("reply:%:rest"))).one()
        assert rest.channel == "app" and rest.target == county.liaison_many
        assert "#159" in rest.payload["content"]


def test_confirm_by_word_records_and_option_two_records_nothing(
    rt: Runtime, county: County
) -> None:
    say(rt, county.liaison_many, "#3 应该完成了")
    assert "回复 1 确认" not in say(rt, county.liaison_many, "2")  # 改报进度: how to write it
    assert status_of(rt, 3, "CGZ") == "not_started"
    say(rt, county.liaison_many, "#3 应该完成了")
    say(rt, county.liaison_many, "确认")
    assert status_of(rt, 3, "CGZ") == "reported"


def test_asked_for_deadlines_each_item_is_on_its_own_line(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "截止时间？")
    lines = reply.splitlines()
    assert lines[0] == "城关镇的截止时间："
    assert sorted(line.split(" ")[0] for line in lines[1:]) == ["#1", "#2", "#3"]


def test_a_progress_note_keeps_no_stray_particle(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "各位领导好，3号任务完成八成了")
    assert "80%" in reply and "，了" not in reply and "了。" not in reply
