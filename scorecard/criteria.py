"""The criteria a provider is scored on, defined once: each with the figures the portal measures
for the incumbent and the questions every candidate answers (with evidence). A question that
stands `instead_of` a measure is asked only where that measure has no data: the incumbent's
history speaks for it, a newcomer answers it.

Pure data: no ORM. Keys are for storage only; pages show the titles and the question texts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    instead_of: str | None = None  # the measure this question stands in for


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    default_weight: int  # percent; the defaults add to 100
    measures: tuple[str, ...]  # keys of scorecard.measured's measures
    questions: tuple[Question, ...]


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "operating_model",
        "Operating model",
        20,
        ("proactive", "repeats", "volume"),
        (
            Question(
                "proactive_monitoring",
                "Most issues are found by monitoring before users report them",
                "proactive",
            ),
            Question(
                "root_cause",
                "Repeat incidents get a root-cause review and a lasting fix",
                "repeats",
            ),
            Question(
                "volume_review",
                "Ticket volume is reviewed with the client and brought down by fixing causes",
                "volume",
            ),
        ),
    ),
    Criterion(
        "responsiveness",
        "Responsiveness",
        25,
        ("response", "resolution", "escalation"),
        (
            Question(
                "response_targets",
                "Response targets per priority are in the contract and reported each month",
                "response",
            ),
            Question(
                "resolution_targets",
                "Resolution targets per priority are in the contract and reported each month",
                "resolution",
            ),
            Question(
                "escalation_time",
                "A ticket the first technician cannot solve is escalated within an hour",
                "escalation",
            ),
        ),
    ),
    Criterion(
        "security",
        "Security practice",
        20,
        ("mfa_attested", "phishing"),
        (
            Question(
                "mfa", "Every technician signs in with multi-factor authentication", "mfa_attested"
            ),
            Question(
                "least_privilege",
                "Least privilege: tiered admin access, only as much as the task needs",
            ),
            Question(
                "vaulted_credentials",
                "Credentials are unique, kept in a vault and rotated when a technician leaves",
            ),
            Question("break_glass", "Break-glass accounts exist, sealed, their use reviewed"),
            Question(
                "awareness_training",
                "Staff take security awareness training every year",
                "phishing",
            ),
        ),
    ),
    Criterion(
        "documentation",
        "Documentation and transparency",
        10,
        ("matrix",),
        (
            Question(
                "escalation_paths",
                "Escalation paths are documented, with names and how to reach them",
            ),
            Question(
                "matrix_agreed",
                "A responsibility matrix (who does what) is agreed with the client",
                "matrix",
            ),
            Question("sample_reports", "Sample service reports were provided"),
        ),
    ),
    Criterion(
        "governance",
        "Governance",
        15,
        ("cadence", "actions"),
        (
            Question(
                "review_cadence", "Quarterly business reviews are held on schedule", "cadence"
            ),
            Question("actions_tracked", "Review action items are tracked until closed", "actions"),
        ),
    ),
    Criterion(
        "fit",
        "Fit for size and complexity",
        10,
        (),
        (
            Question("size_fit", "Serves clients of a similar size (people and devices)"),
            Question("sector_fit", "Knows the client's sector and its business applications"),
            Question("coverage_fit", "Support hours and on-site cover fit the client's sites"),
        ),
    ),
)
CRITERION = {c.key: c for c in CRITERIA}
QUESTION = {q.key: q for c in CRITERIA for q in c.questions}
DEFAULT_WEIGHTS = {c.key: c.default_weight for c in CRITERIA}
