"""What a handler sees (Context), what it returns (Reply), and its two-step contract."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.config import Config
from handlers.parse import Command, parse
from models import InboundMessage, Member
from schedules.workdays import WorkCalendar


@dataclass
class Context:
    session: Session
    config: Config
    calendar: WorkCalendar
    member: Member
    text: str
    now: dt.datetime  # aware UTC
    today: dt.date  # local (Asia/Shanghai) date
    inbound: InboundMessage | None = None
    channel: str = "cli"
    msg_type: str = "text"  # text | event | image | voice | video | file
    media_id: str | None = None
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
