from .actions import OPEN_ACTION_STATUSES, ActionStatus, ImprovementAction
from .followup import FollowUp, FollowUpWaiver, Status
from .policy import FollowUpPolicy, FollowUpStep, Kind, Method
from .reminders import Reminder
from .repeats import RepeatLink
from .survey import LANGUAGES, PLACEHOLDERS, MessageTemplate, SurveyInvitation

__all__ = [
    "LANGUAGES",
    "OPEN_ACTION_STATUSES",
    "PLACEHOLDERS",
    "ActionStatus",
    "FollowUp",
    "FollowUpPolicy",
    "FollowUpStep",
    "FollowUpWaiver",
    "ImprovementAction",
    "Kind",
    "MessageTemplate",
    "Method",
    "Reminder",
    "RepeatLink",
    "Status",
    "SurveyInvitation",
]
