"""What a handler sees (Context), what it returns (Reply), and its two-step contract.

Like python-telegram-bot's CallbackContext, the Context carries everything a handler needs —
the session, the sender, the clock's reading, the rules, the working calendar and a provider
of ranking boards — so handlers import nothing of the process that runs them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from handlers.parse import Command, parse
from models import InboundMessage, Member
from schedules.board import Board
from schedules.calendar import WorkCalendar
from schedules.rules import Rules

# The board `排名` shows: (session, local today) -> this week's standings as they stand.
BoardProvider = Callable[[Session, dt.date], Board]


@dataclass
class Context:
    session: Session
    rules: Rules
    calendar: WorkCalendar
    boards: BoardProvider
    member: Member
    text: str
    now: dt.datetime  # aware UTC
    today: dt.date  # local (Asia/Shanghai) date
    inbound: InboundMessage | None = None
    channel: str = "cli"
    msg_type: str = "text"  # text | event | image | voice | video | file
    media_id: str | None = None
    # group | private: in a group an acknowledgement gets no reply (the whole group reads it).
    chat: str = "private"
    # The phone form's address (报送), named in help when the site is reachable; "" if not.
    form_url: str = ""
    # The self-built app is configured: template cards (button clicks) can reach members.
    cards: bool = False
    command: Command | None = field(init=False)

    def __post_init__(self) -> None:
        self.command = parse(self.text) if self.msg_type in ("text", "event") else None

    @property
    def source(self) -> str:
        return f"inbound:{self.inbound.id}" if self.inbound is not None else self.channel


@dataclass(frozen=True)
class Reply:
    template: str
    data: dict[str, Any] = field(default_factory=dict)


class Handler(Protocol):
    """`check` decides whether the handler applies (no side effects); `handle` acts."""

    name: str

    def check(self, ctx: Context) -> Any | None: ...

    def handle(self, ctx: Context, match: Any) -> Reply: ...
