"""The demo's staff accounts: real role groups (README "Roles"), one password.

`seed_demo` creates the department staff (heads and handlers of every department); the
accounts below are the ones the demo's login page and README offer to try, one per role."""

PASSWORD = "demo-pass-2026"  # noqa: S105 - the documented password of the demo staff

HANDLER_ROLE = "Handler · 处理专员"
HEAD_ROLE = "Department head · 部门负责人"

# (user name, role group, department code or None, what to try with it)
TRY = [
    ("manager", "Complaint manager · 投诉经理", None, "all complaints, SLA policies, calendars"),
    ("head.cs", HEAD_ROLE, "cs", "Customer Service: reopen, invalidate, merge, severity"),
    ("handler.cs1", HANDLER_ROLE, "cs", "Customer Service complaints only"),
    ("handler.property1", HANDLER_ROLE, "property", "Property Management complaints only"),
    ("intake.cs1", "Intake agent · 受理专员", "cs", "records complaints, sees what they recorded"),
    ("auditor", "Auditor · 审计员", None, "reads everything, changes nothing"),
    ("sysadmin", "System administrator · 系统管理员", None, "staff users, roles, schedule"),
]
USERNAMES = [row[0] for row in TRY]

# Who is on the built-in notification lists in the demo (codes of NotificationList).
NOTIFICATION_LISTS = {
    "managers": ["manager", "head.cs"],
    "crisis": ["manager", "head.cs", "head.legal"],
}
