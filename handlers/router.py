"""The first handler whose `check` matches handles the message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.base import Context, Handler, Reply
from handlers.evidence import EvidenceHandler
from handlers.listing import FallbackHandler, HelpHandler, ListHandler, RankHandler
from handlers.report import DoneHandler, ExtensionHandler, PickHandler, ProgressHandler
from handlers.review import ExtensionDecisionHandler, ReviewHandler, UrgeHandler

DEFAULT_HANDLERS: tuple[Handler, ...] = (
    EvidenceHandler(),
    PickHandler(),
    DoneHandler(),
    ProgressHandler(),
    ExtensionHandler(),
    ReviewHandler(),
    ExtensionDecisionHandler(),
    UrgeHandler(),
    ListHandler(),
    HelpHandler(),
    RankHandler(),
    FallbackHandler(),
)


def route(ctx: Context, handlers: Sequence[Handler] = DEFAULT_HANDLERS) -> tuple[Handler, Any]:
    for handler in handlers:
        match = handler.check(ctx)
        if match is not None and match is not False:
            return handler, match
    raise LookupError("no handler matched")  # FallbackHandler always matches


def dispatch(ctx: Context, handlers: Sequence[Handler] = DEFAULT_HANDLERS) -> Reply:
    handler, match = route(ctx, handlers)
    return handler.handle(ctx, match)
