"""The complaint status workflow: the one place that says which transitions exist.

Each edge names its permission and what must be true before it may be taken. The service
`services.lifecycle.transition` is the only code that applies an edge.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import OPEN_STATUSES, Status


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    permission: str = "complaints.change_complaint"
    note_required: bool = False
    note_label: str = ""
    needs_department: bool = False
    needs_solution: bool = False
    needs_resolution: bool = False
    needs_merge_target: bool = False

    @property
    def inputs(self) -> tuple[str, ...]:
        """The complaint fields this step may fill in as it is taken (asked on its page)."""
        fields = ()
        if self.needs_department:
            fields += ("department", "assignee")
        if self.needs_solution:
            fields += ("solution",)
        if self.needs_resolution:
            fields += ("resolution",)
        return fields


def _edges() -> list[Edge]:
    S = Status
    edges = [
        # Acknowledging takes responsibility: a department answers for it from then on.
        Edge(S.NEW, S.ACKNOWLEDGED, _("Acknowledge"), needs_department=True),
        Edge(S.ACKNOWLEDGED, S.INVESTIGATING, _("Start investigation"), needs_department=True),
        Edge(
            S.INVESTIGATING,
            S.AWAITING_CUSTOMER,
            _("Wait for customer"),
            note_required=True,
            note_label=_("What are we waiting for?"),
        ),
        Edge(S.AWAITING_CUSTOMER, S.INVESTIGATING, _("Customer answered: resume")),
        Edge(S.INVESTIGATING, S.SOLUTION_PROPOSED, _("Propose solution"), needs_solution=True),
        Edge(
            S.SOLUTION_PROPOSED,
            S.INVESTIGATING,
            _("Solution rejected: investigate again"),
            note_required=True,
            note_label=_("Why did the customer reject it?"),
        ),
        Edge(S.SOLUTION_PROPOSED, S.RESOLVED, _("Resolve"), needs_resolution=True),
        Edge(S.RESOLVED, S.CLOSED, _("Close"), permission="complaints.close_complaint"),
        Edge(S.REOPENED, S.INVESTIGATING, _("Resume investigation"), needs_department=True),
    ]
    for source in (S.RESOLVED, S.CLOSED):
        edges.append(
            Edge(
                source,
                S.REOPENED,
                _("Reopen"),
                permission="complaints.reopen_complaint",
                note_required=True,
                note_label=_("Why is it reopened?"),
            )
        )
    for source in (S.NEW, S.ACKNOWLEDGED):
        edges.append(
            Edge(
                source,
                S.INVALID,
                _("Mark invalid"),
                permission="complaints.invalidate_complaint",
                note_required=True,
                note_label=_("Reason it is not a valid complaint"),
            )
        )
    for source in OPEN_STATUSES:
        edges.append(
            Edge(
                source,
                S.MERGED,
                _("Merge into another complaint"),
                permission="complaints.merge_complaint",
                needs_merge_target=True,
            )
        )
    return edges


EDGES: dict[tuple[str, str], Edge] = {(e.source, e.target): e for e in _edges()}


def edge(source: str, target: str) -> Edge | None:
    return EDGES.get((source, target))


def edges_from(source: str) -> list[Edge]:
    return [e for e in EDGES.values() if e.source == source]
