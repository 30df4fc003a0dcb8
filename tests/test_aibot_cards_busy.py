"""A smart-robot card click left to the worker (the callback busy): the card is still
answered at once, the click is handled once later, and its answer goes by the event's
response_url."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.config import Config, load_config
from bot.inbound.pipeline import process_pending
from bot.runtime import Runtime
from models import Outbox, Progress
from tests.conftest import Clock, County, LiveServer, serve_app
from tests.test_aibot_cards import click, option_for, press
from tests.test_other_callbacks import AES_KEY, TOKEN, aibot_post, group_text


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "aibot": {"token": TOKEN, "encoding_aes_key": AES_KEY},
            "web": {"inline_limit": 0},  # always acknowledge first
        },
    )


@pytest.fixture
def server(rt: Runtime) -> Iterator[LiveServer]:
    yield from serve_app(rt)


def test_a_busy_click_is_answered_later_through_the_response_url(
    server: LiveServer, clock: Clock, county: County
) -> None:
    rt = server.rt
    # `任务` itself is left to the worker too, so the card comes from a processed message.
    r = aibot_post(server, clock, group_text("m1", county.liaison_many, "@督办助手 任务"))
    assert r.status_code == 200 and r.text == ""  # acknowledged, left to the worker
    clock.advance(seconds=1)  # the burst is over: the worker takes its turn
    assert process_pending(rt, older_than=dt.timedelta(0)) == 1
    from handlers.aibot_cards import card_for_message

    with rt.sessions() as s:
        card = card_for_message(s, county.liaison_many, "任务", "aibot:g:m1", rt.today())
    assert card is not None
    tap = click("e1", county.liaison_many, "done", card["task_id"], option_for(card, 3))
    reply = press(server, clock, tap)
    assert "先选事项" in reply["template_card"]["sub_title_text"]  # no outcome yet
    press(server, clock, tap)  # WeCom's retry: still one message
    with rt.sessions() as s:
        assert s.scalars(select(Progress)).all() == []
    clock.advance(seconds=1)
    assert process_pending(rt, older_than=dt.timedelta(0)) == 1
    with rt.sessions() as s:
        assert len(s.scalars(select(Progress).where(Progress.kind == "done")).all()) == 1
        rows = s.scalars(select(Outbox).where(Outbox.channel == "aibot")).all()
        answers = [r.payload["content"] for r in rows if r.target == "http://127.0.0.1:9/resp"]
    assert any("已收到" in a for a in answers)
