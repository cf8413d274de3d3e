"""Who may see and do what (DESIGN.md section 9): one table, checked on the server by every
interface. No I/O.

| role | sees | may do |
| clerk | every case | register and every step of the routing procedure, scans, opinions |
| department | the cases routed to its department, complainants masked | record the slip return |
| manager | every case | what a clerk may, plus sign-off, holds, reports, supervision |
| auditor | archived cases, reports | the archive; nothing that changes data |
| admin | users | manage users; no access to cases |
"""

from __future__ import annotations

from complaintforms.i18n import N_

ROLES = ("clerk", "department", "manager", "auditor", "admin")
ROLE_LABELS = {
    "clerk": N_("clerk (客服专员)"),
    "department": N_("department (责任部门)"),
    "manager": N_("manager (经理)"),
    "auditor": N_("auditor (审计)"),
    "admin": N_("admin (管理员)"),
}

# The steps a clerk takes on a case (the web's POST /cases/<no>/<step>, the CLI's commands).
CLERK_STEPS = frozenset(
    {
        "accept",
        "reject",
        "slip",
        "letter",
        "return",
        "callback",
        "reopen",
        "close",
        "amend",
        "void",
        "penalize",
        "attach",
        "send_back",
    }
)
MANAGER_STEPS = CLERK_STEPS | {"signoff", "hold", "extend"}
STEPS = {
    "clerk": CLERK_STEPS,
    "manager": MANAGER_STEPS,
    "department": frozenset({"return"}),
    "auditor": frozenset(),
    "admin": frozenset(),
}

# What else a role may do, beyond the steps of one case.
ABILITIES = {
    "clerk": frozenset({"register", "scan", "opinions", "register_book", "cases"}),
    "manager": frozenset(
        {
            "register",
            "scan",
            "opinions",
            "register_book",
            "cases",
            "reports",
            "build_reports",
            "supervise",
        }
    ),
    "department": frozenset({"cases"}),
    "auditor": frozenset({"reports", "archive"}),
    "admin": frozenset({"users"}),
}

# The statuses an auditor sees: what has been sealed into the archive.
ARCHIVED = ("archived",)


def may(user: dict, ability: str) -> bool:
    """Whether the user's role has an ability (`register`, `reports`, `archive`, ...)."""
    return ability in ABILITIES.get(user.get("role", ""), frozenset())


def may_take(user: dict, step: str) -> bool:
    """Whether the user's role may take a step on a case it can see."""
    return step in STEPS.get(user.get("role", ""), frozenset())


def may_see(user: dict, case: dict) -> bool:
    """Whether the user sees the case at all (else it does not exist for them: 404)."""
    role = user.get("role")
    if role in ("clerk", "manager"):
        return True
    if role == "department":
        department = user.get("department")
        return bool(department) and case.get("assignment", {}).get("department") == department
    if role == "auditor":
        return case.get("status") in ARCHIVED
    return False


def masked_for(user: dict) -> bool:
    """Whether the complainant is shown masked to this user (as on the routed slip)."""
    return user.get("role") == "department"


def steps_for(user: dict, case: dict, possible: set[str] | frozenset[str]) -> list[str]:
    """The steps this user may take now, of those the case's state allows, in table order."""
    if not may_see(user, case):
        return []
    allowed = STEPS.get(user.get("role", ""), frozenset())
    return sorted(s for s in possible if s in allowed)


__all__ = [
    "ROLES",
    "ROLE_LABELS",
    "STEPS",
    "may",
    "may_see",
    "may_take",
    "masked_for",
    "steps_for",
]
