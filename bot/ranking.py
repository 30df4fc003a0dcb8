"""Rankings from the ledger: periods, frozen snapshots, and the weekly broadcast."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.outbox import enqueue_to_unit
from bot.runtime import Runtime
from bot.splitting import split_message
from handlers.render import render
from models import CLOSED, REPORTED, Assignment, Extension, RankingSnapshot, Task, Unit
from schedules.periods import (
    calendar_month,
    calendar_week,
    due_month,
    due_week,
    open_week,
    previous_month,
    publication_day,
)
from schedules.reminders import in_quiet_hours
from schedules.scoring import (
    Fact,
    RankRow,
    ScoreRules,
    deduction_reason,
    movement_label,
    rank_all,
    unit_scores,
)
from schedules.workdays import WorkCalendar

log = logging.getLogger(__name__)
GROUP_LABELS = {"township": "乡镇", "department": "部门"}
# A unit's own line names its costliest deductions and counts the rest; red and black
# lists name this many units and count the rest (ties can make a list long): together this
# keeps a unit's message in one markdown message (4096 bytes) whatever the county's size.
LOST_SHOWN = 8
LIST_SHOWN = 12
MARKDOWN_LIMIT = 4096


def score_rules(cfg: Config) -> ScoreRules:
    r = cfg.rules
    return ScoreRules(
        r.score_on_time,
        r.score_late_penalty_per_workday,
        r.score_late_floor,
        r.score_extension_cap,
        r.red_list_size,
        r.black_list_size,
    )


def period_bounds(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar week (Monday–Sunday) or month containing `day`."""
    if kind == "week":
        return calendar_week(day)
    if kind == "month":
        return calendar_month(day)
    raise ValueError(f"unknown period {kind!r}")


def last_published_end(session: Session, kind: str) -> dt.date | None:
    return session.scalar(
        select(func.max(RankingSnapshot.period_end)).where(RankingSnapshot.period_kind == kind)
    )


def current_period(
    session: Session, cfg: Config, kind: str, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The period not yet published that `today` falls in: the open weekly window (the one
    the next weekly publication judges) or the calendar month."""
    if kind == "week":
        start, end, _ = open_week(
            today, cfg.rules.ranking_weekday, last_published_end(session, "week")
        )
        return start, end
    return period_bounds(kind, today)


def choose_period(
    session: Session,
    cfg: Config,
    today: dt.date,
    kind: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> tuple[str, dt.date, dt.date]:
    """The period a user asks for: the current week (default) or month, or a range given by
    its first and last day (`kind` "custom" unless named). ValueError says what is wrong."""
    if kind not in (None, "week", "month", "custom"):
        raise ValueError(f"未知的周期 {kind!r}：可选 week（周）、month（月）")
    if start or end:
        if not (start and end):
            raise ValueError("起止日期须同时给出")
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError:
            raise ValueError(f"日期格式应为 2026-11-01，收到 {start!r}、{end!r}") from None
        if first > last:
            raise ValueError("开始日期晚于结束日期")
        if first.year < 2000 or last.year > 2100 or (last - first).days > 3660:
            raise ValueError("日期超出范围：请选择 2000—2100 年之间、不超过十年的区间")
        return kind or "custom", first, last
    if kind == "custom":
        raise ValueError("自定义区间须给出起止日期")
    kind = kind or "week"
    return (kind, *current_period(session, cfg, kind, today))


def board_for(
    session: Session,
    cfg: Config,
    cal: WorkCalendar,
    kind: str,
    start: dt.date,
    end: dt.date,
    today: dt.date,
) -> Board:
    """A published period exactly as published (whatever kind the asker named for its dates);
    any other computed as of today."""
    for k in dict.fromkeys((kind, "week", "month")):
        if (board := stored(session, k, start, end)) is not None:
            return board
    return compute(session, cfg, cal, kind, start, end, today)


def published_periods(session: Session, limit: int = 12) -> list[tuple[str, dt.date, dt.date]]:
    """The latest published weeks and months, newest first."""
    q = (
        select(
            RankingSnapshot.period_kind, RankingSnapshot.period_start, RankingSnapshot.period_end
        )
        .distinct()
        .order_by(RankingSnapshot.period_end.desc(), RankingSnapshot.period_kind)
        .limit(limit)
    )
    return [(k, a, b) for k, a, b in session.execute(q)]


def load_facts(
    session: Session, tz: ZoneInfo, start: dt.date | None = None, end: dt.date | None = None
) -> list[Fact]:
    """Ledger rows due in [start, end] as plain facts: one query, no ORM objects, so a
    county's whole history ranks in well under a second."""
    deadline = func.coalesce(Assignment.deadline_override, Task.deadline)
    extended = (
        select(Extension.id)
        .where(Extension.assignment_id == Assignment.id, Extension.status == "approved")
        .exists()
    )
    q = select(
        Assignment.id,
        Task.code,
        Assignment.unit_id,
        Task.weight,
        deadline,
        Assignment.status,
        Assignment.reported_at,
        extended,
    ).join(Assignment.task)
    if start is not None and end is not None:
        q = q.where(deadline >= start, deadline <= end)
    facts = []
    for aid, code, unit_id, weight, due, status, reported, ext in session.execute(q):
        done = reported if status in (REPORTED, CLOSED) else None
        facts.append(
            Fact(
                aid,
                code,
                str(unit_id),
                weight,
                due,
                done.astimezone(tz).date() if done else None,
                bool(ext),
            )
        )
    return facts


@dataclass(frozen=True)
class Board:
    kind: str
    start: dt.date
    end: dt.date
    groups: dict[str, list[RankRow]]
    units: dict[str, Unit]  # by unit id as text
    frozen: bool  # read from a stored snapshot

    def row_for(self, unit_id: int) -> RankRow | None:
        for rows in self.groups.values():
            for r in rows:
                if r.unit_code == str(unit_id):
                    return r
        return None


def _previous(session: Session, kind: str, start: dt.date) -> dict[str, tuple[int, int]]:
    last_end = session.scalar(
        select(func.max(RankingSnapshot.period_end)).where(
            RankingSnapshot.period_kind == kind, RankingSnapshot.period_end < start
        )
    )
    if last_end is None:
        return {}
    snaps = session.scalars(
        select(RankingSnapshot).where(
            RankingSnapshot.period_kind == kind, RankingSnapshot.period_end == last_end
        )
    )
    return {str(s.unit_id): (s.rank, int(s.details.get("black_streak", 0))) for s in snaps}


def compute(
    session: Session,
    cfg: Config,
    cal: WorkCalendar,
    kind: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
) -> Board:
    units = {str(u.id): u for u in session.scalars(select(Unit))}
    rules = score_rules(cfg)
    facts = load_facts(session, ZoneInfo(cfg.rules.timezone), start, end)
    scores = unit_scores(facts, start, end, as_of, rules, cal)
    groups = rank_all(
        scores,
        {k: u.kind for k, u in units.items()},
        rules,
        _previous(session, kind, start),
        {k: u.code for k, u in units.items()},
    )
    return Board(kind, start, end, groups, units, frozen=False)


def compute_live(session: Session, cfg: Config, cal: WorkCalendar, today: dt.date) -> Board:
    """The weekly window the next publication judges, as it stands today (not frozen): for
    `排名` in chat."""
    start, end = current_period(session, cfg, "week", today)
    return compute(session, cfg, cal, "week", start, end, today)


def stored(session: Session, kind: str, start: dt.date, end: dt.date) -> Board | None:
    """A published period, exactly as it was published."""
    snaps = session.scalars(
        select(RankingSnapshot)
        .where(
            RankingSnapshot.period_kind == kind,
            RankingSnapshot.period_start == start,
            RankingSnapshot.period_end == end,
        )
        .order_by(RankingSnapshot.group, RankingSnapshot.rank)
    ).all()
    if not snaps:
        return None
    units = {str(u.id): u for u in session.scalars(select(Unit))}
    groups: dict[str, list[RankRow]] = {"township": [], "department": []}
    for s in snaps:
        d = s.details
        groups[s.group].append(
            RankRow(
                str(s.unit_id),
                s.group,
                s.score,
                s.rank,
                d.get("movement"),
                d.get("red", False),
                d.get("black", False),
                d.get("black_streak", 0),
                tuple(d.get("lost", ())),
            )
        )
    for rows in groups.values():  # ties in a stable order: by unit code
        rows.sort(key=lambda r: (r.rank, units[r.unit_code].code))
    return Board(kind, start, end, groups, units, frozen=True)


def publish(
    session: Session, rt: Runtime, kind: str, start: dt.date, end: dt.date, as_of: dt.date
) -> Board:
    """Freeze a period: later data never changes a published ranking."""
    existing = stored(session, kind, start, end)
    if existing is not None:
        return existing
    board = compute(session, rt.config, rt.calendar, kind, start, end, as_of)
    for rows in board.groups.values():
        for r in rows:
            session.add(
                RankingSnapshot(
                    period_kind=kind,
                    period_start=start,
                    period_end=end,
                    unit_id=int(r.unit_code),
                    group=r.group,
                    score=r.score,
                    rank=r.rank,
                    created_at=rt.now(),
                    details={
                        "movement": r.movement,
                        "red": r.red,
                        "black": r.black,
                        "black_streak": r.black_streak,
                        "lost": list(r.lost),
                    },
                )
            )
    session.flush()
    return stored(session, kind, start, end) or board


def board_data(board: Board, unit: Unit | None = None) -> dict[str, object]:
    """What the ranking templates render: pure data."""

    def line(r: RankRow) -> dict[str, object]:
        u = board.units[r.unit_code]
        # Costliest first; the unit's own message shows the first LOST_SHOWN of them.
        costly = [
            {**x, "why": deduction_reason(x)}
            for x in sorted(r.lost, key=lambda x: (-float(x["lost"]), str(x["task"])))  # type: ignore[arg-type]
        ]
        return {
            "code": u.code,
            "name": u.name,
            "score": r.score,
            "rank": r.rank,
            # A custom range (1–4月) has no previous one to move from.
            "move": "" if board.kind == "custom" else movement_label(r.movement),
            "red": r.red,
            "black": r.black,
            "streak": r.black_streak,
            "lost": costly,
        }

    groups = []
    for key in ("township", "department"):
        rows = board.groups.get(key, [])
        groups.append(
            {
                "label": GROUP_LABELS[key],
                "rows": [line(r) for r in rows],
                "red": [line(r) for r in rows if r.red],
                "black": [line(r) for r in rows if r.black],
            }
        )
    own = None
    if unit is not None and (r := board.row_for(unit.id)) is not None:
        mine = line(r)
        costly: list[dict[str, object]] = mine["lost"]  # type: ignore[assignment]
        own = {
            **mine,
            "group": GROUP_LABELS[r.group],
            "of": len(board.groups.get(r.group, [])),
            "lost": costly[:LOST_SHOWN],
            "more_lost": len(costly) - len(costly[:LOST_SHOWN]),
        }
    return {
        "shown": LIST_SHOWN,
        "kind": {"week": "周", "month": "月"}.get(board.kind, ""),
        "frozen": board.frozen,
        "start": board.start,
        "end": board.end,
        "groups": groups,
        "own": own,
        "unit": unit,
    }


def board_json(board: Board) -> dict[str, object]:
    """`duban rank --json` and `/api/rankings`: the board with what cost each unit points."""
    data = board_data(board)
    return {
        "period": board.kind,
        "from": board.start.isoformat(),
        "to": board.end.isoformat(),
        "frozen": board.frozen,
        "groups": [{"group": g["label"], "rows": g["rows"]} for g in data["groups"]],  # type: ignore[attr-defined]
    }


def broadcast(session: Session, rt: Runtime, board: Board) -> int:
    """The board to every unit group (with its own line) and the supervision office, and the
    board as a picture after it when a CJK font is installed."""
    from bot.board_image import render_board
    from bot.channels import image_payload

    now = rt.now()
    n = 0
    key = f"rank:{board.kind}:{board.start.isoformat()}"
    picture = render_board({**board_data(board), "today": now.astimezone(rt.tz).date()})
    for unit in sorted(board.units.values(), key=lambda u: u.code):
        data = board_data(board, unit)
        template = "rank_office" if unit.kind == "office" else "rank_unit"
        # The full table (office) of a large county takes several messages, cut at row ends.
        parts = split_message(render(template, data), "markdown")
        for i, part in enumerate(parts, 1):
            n += len(
                enqueue_to_unit(
                    session,
                    unit,
                    dedupe_key=f"{key}:{unit.code}" + (f":p{i}" if i > 1 else ""),
                    now=now,
                    content=part,
                    msg_type="markdown",
                    source=key,
                )
            )
        if picture is not None and unit.webhook_keys:  # only group robots take base64 images
            for row in enqueue_to_unit(
                session,
                unit,
                dedupe_key=f"{key}:{unit.code}:image",
                now=now,
                content="",
                msg_type="image",
                source=key,
            ):
                row.payload = {**row.payload, **image_payload(picture.png)}
    return n


def publish_due(rt: Runtime, now: dt.datetime | None = None) -> int:
    """At `ranking_time`: on the ranking weekday the weekly window that ended yesterday, and
    on a month's first workday the previous month; each published and broadcast once. A
    holiday skips the weekly publication and the next one covers both weeks."""
    local = (now or rt.now()).astimezone(rt.tz)
    r = rt.config.rules
    day = local.date()
    if local.time() < r.ranking_time or in_quiet_hours(local.time(), r.quiet_start, r.quiet_end):
        return 0  # (a bot back after a late outage publishes on the next workday, not at night)
    due: list[tuple[str, dt.date, dt.date]] = []
    sent = 0
    with rt.sessions() as session:
        if local.isoweekday() == r.ranking_weekday:
            if not rt.calendar.is_workday(day):
                log.info("ranking day %s is a holiday: no weekly broadcast", day)
            elif (week := due_week(day, last_published_end(session, "week"))) is not None:
                due.append(("week", *week))
        month = due_month(day, rt.calendar, last_published_end(session, "month"))
        if month is not None:
            due.append(("month", *month))
    for kind, start, end in due:
        with rt.sessions() as session:
            board = publish(session, rt, kind, start, end, day)
            n = broadcast(session, rt, board)
            session.commit()
        if n:
            log.info("%s ranking %s..%s broadcast to %s groups", kind, start, end, n)
        sent += n
    return sent


def backfill(session: Session, rt: Runtime, today: dt.date, weeks: int = 6) -> int:
    """Freeze the weekly windows of the last `weeks` ranking days and the previous month,
    each as of its publication day, broadcasting nothing: the demo county's history, so
    movement and trends show on the first day. Returns the periods frozen."""
    weekday = rt.config.rules.ranking_weekday
    day = publication_day(today - dt.timedelta(days=7 * weeks), weekday)
    periods: list[tuple[str, dt.date, dt.date]] = []
    while day < today:
        window = due_week(day, last_published_end(session, "week"))
        if window is not None:
            publish(session, rt, "week", *window, day)
            periods.append(("week", *window))
        day += dt.timedelta(days=7)
    month = previous_month(today)
    publish(session, rt, "month", *month, month[1] + dt.timedelta(days=1))
    periods.append(("month", *month))
    # A period with nothing due stores no rows: count what was frozen.
    return sum(stored(session, *p) is not None for p in periods)


def trends(
    session: Session, kind: str = "week", limit: int = 12, unit_id: int | None = None
) -> dict[int, list[dict[str, object]]]:
    """Published scores and ranks per unit over the last `limit` periods, oldest first."""
    recent = (
        select(RankingSnapshot.period_start)
        .where(RankingSnapshot.period_kind == kind)
        .distinct()
        .order_by(RankingSnapshot.period_start.desc())
        .limit(limit)
    )
    starts = list(session.scalars(recent))
    q = (
        select(RankingSnapshot)
        .where(RankingSnapshot.period_kind == kind, RankingSnapshot.period_start.in_(starts))
        .order_by(RankingSnapshot.period_start)
    )
    if unit_id is not None:
        q = q.where(RankingSnapshot.unit_id == unit_id)
    out: dict[int, list[dict[str, object]]] = {}
    for s in session.scalars(q):
        out.setdefault(s.unit_id, []).append(
            {
                "start": s.period_start.isoformat(),
                "end": s.period_end.isoformat(),
                "score": s.score,
                "rank": s.rank,
                "red": s.details.get("red", False),
                "black": s.details.get("black", False),
            }
        )
    return out


def trend(
    session: Session, unit_id: int, kind: str = "week", limit: int = 12
) -> list[dict[str, object]]:
    """A unit's published scores and ranks, oldest first."""
    return trends(session, kind, limit, unit_id).get(unit_id, [])
