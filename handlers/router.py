"""The first handler whose `check` matches handles the message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.base import Context, Handler, Reply
from handlers.chat import AckHandler, ConfirmDoneHandler, QuestionHandler, SeveralHandler
from handlers.evidence import EvidenceHandler
from handlers.items import forget_pick
from handlers.lead_review import FirstReviewHandler
from handlers.listing import (
    FallbackHandler,
    HelpHandler,
    ListHandler,
    RankHandler,
    UnclearHandler,
)
from handlers.report import DoneHandler, ExtensionHandler, PickHandler, ProgressHandler
from handlers.review import (
    AwaitingHandler,
    ExtensionDecisionHandler,
    ReviewHandler,
    UrgeHandler,
)
from handlers.targets import QuantityHandler

DEFAULT_HANDLERS: tuple[Handler, ...] = (
    FirstReviewHandler(),  # its own grammar (初审…), asked before the parsed commands
    EvidenceHandler(),
    PickHandler(),
    AckHandler(),
    QuestionHandler(),
    ConfirmDoneHandler(),
    SeveralHandler(),
    DoneHandler(),
    ProgressHandler(),
    QuantityHandler(),
    ExtensionHandler(),
    ReviewHandler(),
    ExtensionDecisionHandler(),
    UrgeHandler(),
    AwaitingHandler(),
    ListHandler(),
    HelpHandler(),
    RankHandler(),
    UnclearHandler(),
    FallbackHandler(),
)


def route(ctx: Context, handlers: Sequence[Handler] = DEFAULT_HANDLERS) -> tuple[Handler, Any]:
    for handler in handlers:
        match = handler.check(ctx)
        if match is not None and match is not False:
            return handler, match
    raise LookupError("no handler matched")  # FallbackHandler always matches


def handle(ctx: Context, handler: Handler, match: Any) -> Reply:
    if ctx.command is not None and ctx.command.kind != "pick":
        forget_pick(ctx)  # a numbered list answers only the very next message
    return handler.handle(ctx, match)
