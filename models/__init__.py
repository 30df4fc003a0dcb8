"""The 督办 domain: SQLAlchemy 2 models shared by the bot, handlers and schedules."""

from models.attempts import AttemptCounter
from models.base import Base, UTCDateTime, utcnow
from models.checks import SpotCheck, SpotCheckItem
from models.messages import ConversationState, InboundMessage, Outbox
from models.ops import AuditLog, Lease, RankingSnapshot, Setting
from models.org import ROLE_LABELS, ROLES, UNIT_KIND_LABELS, UNIT_KINDS, Account, Member, Unit
from models.work import (
    CLOSED,
    IN_PROGRESS,
    LEAD_STAGE,
    NOT_STARTED,
    OFFICE_STAGE,
    OPEN_STATUSES,
    REPORTED,
    STATUS_LABELS,
    Assignment,
    Extension,
    KeyWork,
    Progress,
    Task,
)

__all__ = [
    "CLOSED",
    "IN_PROGRESS",
    "LEAD_STAGE",
    "NOT_STARTED",
    "OFFICE_STAGE",
    "OPEN_STATUSES",
    "REPORTED",
    "ROLES",
    "ROLE_LABELS",
    "STATUS_LABELS",
    "UNIT_KINDS",
    "UNIT_KIND_LABELS",
    "Account",
    "Assignment",
    "AttemptCounter",
    "AuditLog",
    "Base",
    "ConversationState",
    "Extension",
    "InboundMessage",
    "KeyWork",
    "Lease",
    "Member",
    "Outbox",
    "Progress",
    "RankingSnapshot",
    "Setting",
    "SpotCheck",
    "SpotCheckItem",
    "Task",
    "UTCDateTime",
    "Unit",
    "utcnow",
]
