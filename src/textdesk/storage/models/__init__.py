"""Every table textdesk keeps, in one place so that foreign keys can be complete."""

from textdesk.storage.models.appointments import Appointment
from textdesk.storage.models.attempts import RefusedSend
from textdesk.storage.models.audit import AuditEvent
from textdesk.storage.models.automation import (
    ConfirmationRequest,
    LinkKey,
    MessageTemplate,
    NumberPace,
    RecallRequest,
    ReminderRule,
    ReminderSend,
)
from textdesk.storage.models.campaigns import Campaign, CampaignAudience, CampaignRecipient
from textdesk.storage.models.core import (
    Base,
    CallbackReceipt,
    Clinic,
    ClinicSpend,
    Commlog,
    ConnectorError,
    ConnectorHeartbeat,
    ConsentCurrent,
    ConsentEvent,
    Conversation,
    Message,
    MessageEvent,
    Patient,
    Practice,
    SendingNumber,
    UTCDateTime,
)
from textdesk.storage.models.flags import RevocationFlag
from textdesk.storage.models.idempotency import IdempotencyKey
from textdesk.storage.models.indexes import PACED_INDEX_NAME
from textdesk.storage.models.integrations import (
    ExternalRecord,
    SyncCursor,
    SystemConnection,
    WriteBackItem,
)
from textdesk.storage.models.leads import Lead, LeadStageChange
from textdesk.storage.models.lookups import PhoneLookup
from textdesk.storage.models.media import MediaItem
from textdesk.storage.models.staff import SignInThrottle, StaffSession, StaffUser
from textdesk.storage.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Appointment",
    "AuditEvent",
    "PhoneLookup",
    "Base",
    "CallbackReceipt",
    "Campaign",
    "CampaignAudience",
    "CampaignRecipient",
    "Clinic",
    "ClinicSpend",
    "Commlog",
    "ConfirmationRequest",
    "ConnectorError",
    "ConnectorHeartbeat",
    "ConsentCurrent",
    "ConsentEvent",
    "Conversation",
    "ExternalRecord",
    "IdempotencyKey",
    "Lead",
    "LeadStageChange",
    "LinkKey",
    "MediaItem",
    "Message",
    "MessageEvent",
    "MessageTemplate",
    "NumberPace",
    "PACED_INDEX_NAME",
    "Patient",
    "Practice",
    "RecallRequest",
    "RefusedSend",
    "ReminderRule",
    "ReminderSend",
    "RevocationFlag",
    "SendingNumber",
    "SignInThrottle",
    "StaffSession",
    "StaffUser",
    "SyncCursor",
    "SystemConnection",
    "UTCDateTime",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WriteBackItem",
]
