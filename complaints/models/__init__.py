from .alerts import AlertSchedule, DeadlineAlert, DigestEntry, Notification, NotificationList
from .api import SCOPES, ApiClient, IdempotencyRecord
from .categories import Category, pick_path
from .compensation import (
    GRANTED,
    MONETARY_KINDS,
    ApprovalAlert,
    ApprovalLimit,
    Compensation,
    CompensationKind,
    Currency,
    NotDeletable,
    RemedyPlan,
    TierGuidance,
)
from .complaint import (
    OPEN_STATUSES,
    Channel,
    Complaint,
    ComplaintDeletionError,
    Fault,
    ReferenceCounter,
    Severity,
    Status,
)
from .customers import Customer
from .desk import AwaitingPeriod, ReplyTemplate
from .events import AppendOnlyError, Attachment, ComplaintEvent
from .incidents import Incident, IncidentLink, IncidentRemedy
from .jobs import RecomputeJob
from .organisation import Department, DepartmentMembership
from .responsibility import RootCause, Validity, localized_name, pick_name
from .saved_views import SavedListView
from .security import LoginThrottle
from .sla import (
    BusinessCalendar,
    CalendarException,
    CalendarYear,
    DurationUnit,
    SLAPolicy,
    Weekday,
    WorkingInterval,
)

__all__ = [
    "AwaitingPeriod",
    "ReplyTemplate",
    "SavedListView",
    "GRANTED",
    "MONETARY_KINDS",
    "ApprovalAlert",
    "ApprovalLimit",
    "Compensation",
    "CompensationKind",
    "Currency",
    "Incident",
    "IncidentLink",
    "IncidentRemedy",
    "NotDeletable",
    "RemedyPlan",
    "TierGuidance",
    "SCOPES",
    "ApiClient",
    "IdempotencyRecord",
    "LoginThrottle",
    "OPEN_STATUSES",
    "AppendOnlyError",
    "Attachment",
    "BusinessCalendar",
    "CalendarException",
    "CalendarYear",
    "DurationUnit",
    "SLAPolicy",
    "Weekday",
    "WorkingInterval",
    "Category",
    "Channel",
    "Complaint",
    "ComplaintDeletionError",
    "ComplaintEvent",
    "Customer",
    "AlertSchedule",
    "DeadlineAlert",
    "DigestEntry",
    "Department",
    "DepartmentMembership",
    "Fault",
    "Notification",
    "NotificationList",
    "RecomputeJob",
    "ReferenceCounter",
    "RootCause",
    "Validity",
    "localized_name",
    "pick_name",
    "pick_path",
    "Severity",
    "Status",
]
