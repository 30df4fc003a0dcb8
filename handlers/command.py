"""What a chat message asks for, as the parser reads it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    # done | progress | extension | list | help | pick | close | reject | approve_ext |
    # refuse_ext | urge | rank | awaiting (待审核) | partial (完成了一半) |
    # several (two task refs in one message) | ack (收到, 👌) | deadline (截止时间?) |
    # status (#12 完成了吗?) | confirm_done (基本完成: ask before recording) |
    # quantity (a value or count; `note` holds the text, read again by
    # `handlers.quantities.read_quantity`)
    kind: str
    ref: int | None = None
    percent: int | None = None
    note: str = ""
    # Without a ref: the words that may name an item by a fragment of its title (not part
    # of what the command *is*, so two readings differing only here are equal).
    subject: str = field(default="", compare=False)
    # Two reports in one message (`#12 已完成，#13 完成50%`), each certain on its own.
    items: tuple[Command, ...] = ()
