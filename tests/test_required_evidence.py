"""Required evidence: a done claim without photos or files is held and the bot asks for them."""

from __future__ import annotations

import io
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.config import Config, load_config
from bot.inbound.pipeline import handle_message
from bot.runtime import Runtime
from models import AuditLog, Outbox, Progress, Task
from tests.conftest import County
from tests.test_handlers import say, status_of


@pytest.fixture
def config(db_url: str) -> Config:
    # 安全生产 (#1, #3, #4) needs evidence; 河湖长制 (#2, #5) does not.
    return load_config(
        environ={},
        overrides={"database": {"url": db_url}, "rules": {"evidence_required": ["安全生产"]}},
    )


def photo(rt: Runtime, sender: str, media_id: str = "MEDIA-1") -> str:
    return handle_message(
        rt,
        channel="wecom",
        sender=sender,
        text="[image]",
        msg_key=f"t:{uuid.uuid4()}",
        msg_type="image",
        media_id=media_id,
    ).reply


def office_messages(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return [
            o.payload["content"]
            for o in s.scalars(select(Outbox).where(Outbox.target == "key-dcs").order_by(Outbox.id))
        ]


def test_claim_without_evidence_is_held_until_a_photo_comes(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_many, "完成 #3 通道已清理")
    assert "要求提供佐证材料" in reply and "直接发送现场照片或文件" in reply
    assert status_of(rt, 3, "CGZ") == "not_started"  # still open, still red
    assert office_messages(rt) == []

    reply = photo(rt, county.liaison_many)
    assert "已提交督查室审核" in reply
    assert status_of(rt, 3, "CGZ") == "reported"
    (claim,) = office_messages(rt)
    assert "城关镇 报告 #3 已完成" in claim and "说明：通道已清理" in claim
    assert "佐证材料：1 件" in claim
    # A second photo attaches to the claim; it does not claim again.
    assert "已附在 #3" in photo(rt, county.liaison_many, "MEDIA-2")
    assert len(office_messages(rt)) == 1
    with rt.sessions() as s:
        kinds = s.scalars(select(Progress.kind).order_by(Progress.id)).all()
        assert kinds == ["held", "evidence", "done", "evidence"]
        actions = [
            a for a in s.scalars(select(AuditLog.action).order_by(AuditLog.id)) if a != "message"
        ]
        assert actions == ["hold_claim", "attach_evidence", "claim_done", "attach_evidence"]


def test_evidence_sent_first_lets_the_claim_through(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "进度 #3 80% 正在清理")
    photo(rt, county.liaison_many)
    assert "督查室审核后销号" in say(rt, county.liaison_many, "完成 #3")
    assert status_of(rt, 3, "CGZ") == "reported"


def test_returned_claim_needs_fresh_evidence(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "完成 #3")
    photo(rt, county.liaison_many)
    say(rt, county.supervisor, "退回 #3 城关镇 照片看不清")
    assert "要求提供佐证材料" in say(rt, county.liaison_many, "完成 #3")
    assert status_of(rt, 3, "CGZ") == "in_progress"


def test_task_setting_wins_over_the_key_work(rt: Runtime, county: County) -> None:
    with rt.sessions() as s:
        s.scalars(select(Task).where(Task.code == 3)).one().evidence_required = False
        s.scalars(select(Task).where(Task.code == 2)).one().evidence_required = True
        s.commit()
    assert "督查室审核后销号" in say(rt, county.liaison_many, "完成 #3")
    assert "要求提供佐证材料" in say(rt, county.liaison_one, "完成 #2")


def test_reviewer_sees_the_evidence_beside_the_claim(rt: Runtime, county: County) -> None:
    from tests.test_lead_review import web_login
    from tests.test_web import text

    say(rt, county.liaison_many, "完成 #3")
    photo(rt, county.liaison_many)
    page = text(web_login(rt, "duchashi", county.supervisor).get("/task/3").get_data(as_text=True))
    review = page.split("进展记录")[0]
    assert "城关镇 待销号 督查室审核" in review and "佐证材料 [image 待下载]" in review
    assert "报完成（待补佐证）" in page


def test_ledger_sheet_sets_a_tasks_evidence_requirement(rt: Runtime, county: County) -> None:
    from bot.excel.ledger import run_import
    from bot.excel.sheet import Directory, UnitRef, parse_rows
    from schedules.calendar import WorkCalendar
    from tests.factories import HEADER, workbook

    header = [*HEADER, "佐证材料"]
    rows = [
        [1, "安全生产", "任务甲", "", "城关镇", "2026年12月30日", "", 1, "是"],
        [2, "安全生产", "任务乙", "", "城关镇", "2026年12月30日", "", 1, "否"],
        [3, "安全生产", "任务丙", "", "城关镇", "2026年12月30日", "", 1, ""],
        [4, "安全生产", "任务丁", "", "城关镇", "2026年12月30日", "", 1, "看情况"],
    ]
    units = Directory((UnitRef(1, "CGZ", "城关镇", "township"),))
    result = parse_rows("台账", [header, *rows], units, WorkCalendar(), 2026)
    assert [t.evidence for t in result.tasks] == [True, False, None]
    assert [str(e) for e in result.errors] == ["第 5 行【佐证材料】请填“是”或“否”：看情况"]

    wb = load_workbook(workbook([]))
    ws = wb.active
    assert ws is not None
    ws.cell(2, 9, "佐证材料")
    for row in rows[:3]:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    report = run_import(rt, buf, actor="test", year=2026, dry_run=False)
    assert report.ok
    with rt.sessions() as s:
        got = {t.content: t.evidence_required for t in s.scalars(select(Task))}
    assert (got["任务甲"], got["任务乙"], got["任务丙"]) == (True, False, None)
