from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        # complaints never imports followups (DESIGN.md); it calls these at named points.
        from complaints import hooks

        from . import panels
        from .services import repeats, visits

        hooks.register(hooks.AFTER_RESOLVED, _schedule_after_resolution)
        hooks.register(hooks.AFTER_REGISTERED, _link_after_intake)
        hooks.register(hooks.CLOSE_BLOCKERS, visits.close_blocker)
        hooks.register(hooks.SAME_PROBLEM, repeats.same_problem_q)
        hooks.register(hooks.COMPLAINT_PANELS, panels.complaint_panel)


def _schedule_after_resolution(complaint_id: int) -> None:
    """Right after the resolution commits, in the same process: the follow-ups show on the
    page the handler lands on. If this fails, the periodic schedule_missing task does it."""
    from .services import scheduling

    scheduling.schedule_for(complaint_id)


def _link_after_intake(complaint, *, new_customer: bool = False) -> None:
    """Inline too (at most one indexed query): the link shows at once; link_recent catches
    up. A customer created by this intake has no earlier complaint to link to."""
    from .services import repeats

    if not new_customer:
        repeats.link_complaint(complaint)
