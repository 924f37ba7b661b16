"""The contract domain: who is party to what, what was promised, and who owns which area."""

from .audit import AuditEvent
from .commitments import Commitment, CommitmentOccurrence, Evidence
from .contract import Contract
from .matrix import ResponsibilityAssignment, ResponsibilityMatrixVersion
from .organisations import Membership, Organisation
from .sla import Calendar, SlaPolicyVersion, SlaTarget, UptimeTarget

__all__ = [
    "AuditEvent",
    "Calendar",
    "Commitment",
    "CommitmentOccurrence",
    "Contract",
    "Evidence",
    "Membership",
    "Organisation",
    "ResponsibilityAssignment",
    "ResponsibilityMatrixVersion",
    "SlaPolicyVersion",
    "SlaTarget",
    "UptimeTarget",
]
