"""Failed-attempt counters in the database (issue 11): login and bind-code guessing limits
survive a restart, are shared by several web processes, count concurrent failures from one
sender exactly, and a WeChat user over the bind-code limit is told until when."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.inbound.binding import issue_code, redeem
from bot.inbound.pipeline import accept
from bot.runtime import Runtime
from models import AttemptCounter, Member, attempts
from tests.conftest import Clock, County
from tests.test_hostile_web import accounts, login


def test_concurrent_wrong_codes_from_one_user_all_count(rt: Runtime, county: County) -> None:
    """Two (here eight) wrong codes at the same instant: each is one failure, none fails on
    the counter's key, on every database."""
    threads = 8
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def guess() -> None:
        try:
            with rt.sessions() as s:
                barrier.wait(timeout=10)
                assert redeem(s, "o-racer", "绑定 000000", rt.now(), per_user=100) is None
                s.commit()
        except BaseException as exc:  # reported below, with the thread gone
            errors.append(exc)

    workers = [threading.Thread(target=guess) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert errors == []
    with rt.sessions() as s:
        assert attempts.failures(s, "bindfail:o-racer", rt.now()) == threads
        assert attempts.failures(s, "bindfail:*", rt.now()) == threads


def test_a_window_ends_and_counting_starts_again(rt: Runtime, clock: Clock) -> None:
    window, lockout = dt.timedelta(minutes=15), dt.timedelta(minutes=30)
    with rt.sessions() as s:
        for expected in (1, 2, 3):
            assert attempts.fail(s, "k", rt.now(), window=window, limit=3, lockout=lockout) == (
                expected
            )
        s.commit()
        end = rt.now() + lockout  # the third failure reached the limit: locked for 30 min
        assert attempts.blocked_until(s, "k", 3, rt.now()) == end
    clock.advance(minutes=29)
    with rt.sessions() as s:
        assert attempts.blocked_until(s, "k", 3, rt.now()) == end
    clock.advance(minutes=2)
    with rt.sessions() as s:
        assert attempts.blocked_until(s, "k", 3, rt.now()) is None
        assert attempts.fail(s, "k", rt.now(), window=window, limit=3) == 1
        attempts.sweep(s, rt.now() + window)
        s.commit()
        assert s.scalars(select(AttemptCounter)).all() == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_login_lockout_survives_a_restart_and_is_shared_by_processes(
    rt: Runtime, county: County, clock: Clock
) -> None:
    accounts(rt)
    first, second = create_app(runtime=rt, TESTING=True), create_app(runtime=rt, TESTING=True)
    for app in (first, second, first, second, first):  # five failures spread over two processes
        assert login(app.test_client(), "duchashi", "wrong-password").status_code == 401
    restarted = create_app(runtime=rt, TESTING=True)
    r = login(restarted.test_client(), "duchashi")
    assert r.status_code == 429 and "15 分钟后再试" in r.text
    clock.advance(minutes=16)
    assert login(restarted.test_client(), "duchashi").status_code == 302


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_locked_wechat_user_is_told_until_when(rt: Runtime, county: County) -> None:
    with rt.sessions() as s:
        member = s.scalars(select(Member).where(Member.userid == "hxx_liaison")).one()
        code = issue_code(s, member, rt.now())
        s.commit()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def send(n: int, text: str) -> str:
        got = accept(rt, channel="wechat", sender="o-locked", text=text, msg_key=f"wx:{n}")
        assert got.inbound_id is None and got.reply
        return got.reply

    for n in range(4):
        assert "尚未登记" in send(n, f"绑定 {wrong}")
    until = (rt.now() + dt.timedelta(hours=24)).astimezone(rt.tz)
    for n, text in ((4, f"绑定 {wrong}"), (5, f"绑定 {code}")):
        reply = send(n, text)
        assert "已暂时锁定" in reply and "尚未登记" not in reply
        assert f"{until.month}月{until.day}日 {until:%H:%M}以后再试" in reply
    assert "尚未登记" in send(6, "你好")  # not a code: the usual answer
