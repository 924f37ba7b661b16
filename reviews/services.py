"""Writes of the review domain: drafts, edits, publishing (the freeze), corrections, action items,
comments and share links. Callers have already checked access through msp_portal.tenancy."""

from __future__ import annotations

from datetime import date, timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.models import Contract
from contracts.services.audit import audit_record, diff, snapshot, update_audited

from .context import quarter_period, review_content
from .models import ActionItem, Review, ReviewBranding, ReviewComment, ShareLink

EDITABLE = [
    "msp_commentary",
    "advisor_commentary",
    "recommendations",
    "attendees",
    "next_review_on",
]
WRITTEN = [*EDITABLE, "correction_note"]  # what a draft's writers change (EDITABLE carries over)
SHARE_SALT = "reviews.share-link"
SHARE_MAX_DAYS = 90


def quarter_ended_before(day: date) -> str:
    """The last quarter that ended before `day`: 2025-10-01 → 2025-Q3."""
    quarter = (day.month - 1) // 3  # 0-based quarter of `day`; the one before it ended
    return f"{day.year - 1}-Q4" if quarter == 0 else f"{day.year}-Q{quarter}"


def review_draft_ensure(*, contract: Contract, quarter: str, actor=None, source: str = "web"):
    """The quarter's review, created as a draft when the quarter has none: (review, created)."""
    quarter_period(quarter, contract.timezone)  # ValueError for a malformed quarter
    with transaction.atomic():
        existing = (
            Review.objects.select_for_update()
            .filter(contract=contract, quarter=quarter)  # another MSP's review is not this one
            .order_by("-version")
            .first()
        )
        if existing is not None:
            return existing, False
        review = Review.objects.create(
            client=contract.client, contract=contract, quarter=quarter, created_by=actor
        )
        audit_record(
            actor=actor, source=source, contract=contract, action="review_created", obj=review
        )
        return review, True


def _require_draft(review: Review) -> None:
    if review.published:
        raise ValidationError(
            "This review is published and frozen; start a correction to change it."
        )


def review_update(*, review: Review, values: dict, actor, source: str = "web") -> dict:
    """Change commentary, attendees, the next review date or (of a correction) what it corrects,
    in a draft; returns the changes."""
    _require_draft(review)
    return update_audited(
        review,
        values,
        fields=WRITTEN,
        actor=actor,
        source=source,
        contract=review.contract,
        action="review_edited",
        only_changed=True,
        # The PDF no longer shows what the page does.
        also={"pdf_status": Review.PdfStatus.NONE},
    )


def _corrections(before: dict, after: dict) -> list[str]:
    """Which figures a correction changed, in words."""
    old = {row["key"]: row for row in before.get("kpis", [])}
    changed = []
    for row in after.get("kpis", []):
        previous = old.get(row["key"])
        if previous is not None and previous["value"] != row["value"]:
            changed.append(
                f"{row['label']}: {_plain(previous['value'], row['unit'])} → "
                f"{_plain(row['value'], row['unit'])}"
            )
    return changed


def _plain(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def review_publish(*, review: Review, actor, source: str = "web") -> Review:
    """Freeze the review: its figures, charts, narrative, commentary and action items are stored
    and never read live again. A correction must say what it corrects."""
    _require_draft(review)
    earlier = (
        Review.objects.filter(
            contract=review.contract_id,
            quarter=review.quarter,
            status=Review.Status.PUBLISHED,
            version__lt=review.version,
        )
        .order_by("-version")
        .first()
    )
    if earlier is not None and not review.correction_note.strip():
        raise ValidationError("Say what this correction changes before publishing it.")
    content = review_content(review)
    now = timezone.now()
    content.update(
        status=Review.Status.PUBLISHED,
        published_at=now.isoformat(),
        published_by=actor.get_full_name() or actor.email if actor else "",
    )
    if earlier is not None:
        content["corrections"] = _corrections(earlier.frozen or {}, content)
    review.frozen = content
    review.status = Review.Status.PUBLISHED
    review.published_at, review.published_by = now, actor
    review.pdf_status, review.pdf = Review.PdfStatus.NONE, ""  # a draft's PDF is not this one
    review.save()
    audit_record(
        actor=actor, source=source, contract=review.contract, action="review_published", obj=review
    )
    return review


def review_correct(*, review: Review, actor, source: str = "web") -> Review:
    """Start a new version of a published review, as a draft carrying its commentary over."""
    if not review.published:
        raise ValidationError("Only a published review can be corrected; edit the draft instead.")
    with transaction.atomic():
        latest = (
            Review.objects.select_for_update()
            .filter(contract=review.contract_id, quarter=review.quarter)
            .order_by("-version")
            .first()
        )
        if not latest.published:
            return latest  # a correction is already being drafted
        draft = Review.objects.create(
            client=review.client,
            contract=review.contract,
            quarter=review.quarter,
            version=latest.version + 1,
            created_by=actor,
            **{name: getattr(latest, name) for name in EDITABLE},
        )
        audit_record(
            actor=actor,
            source=source,
            contract=review.contract,
            action="review_correction_started",
            obj=draft,
        )
        return draft


def action_item_add(
    *, review: Review, title: str, owner_side: str, due_on: date | None, actor, source="web"
) -> ActionItem:
    """Raise an action item in this review's quarter."""
    _require_draft(review)
    item = ActionItem.objects.create(
        client=review.client,
        contract=review.contract,
        raised_in=review.quarter,
        title=title.strip(),
        owner_side=owner_side,
        due_on=due_on,
        created_by=actor,
    )
    audit_record(
        actor=actor, source=source, contract=review.contract, action="action_item_added", obj=item
    )
    return item


def _require_item_open_to_change(item: ActionItem, review: Review | None, *, wording: bool):
    """An action item changes only through a draft review that shows it. Its wording (title,
    owner, due date) was agreed in the review of the quarter it was raised in: once that review
    is published, only a correction of it (a new, tracked version) changes the wording; a later
    quarter's draft moves its status only."""
    if review is None:  # the command line and tests, which name no review
        return
    _require_draft(review)
    mine = item.contract_id in (None, review.contract_id)
    if item.client_id != review.client_id or not mine or item.raised_in > review.quarter:
        raise ValidationError("This action item is not part of this review.")
    agreed = Review.objects.filter(
        contract=review.contract_id, quarter=item.raised_in, status=Review.Status.PUBLISHED
    )
    if wording and item.raised_in != review.quarter and agreed.exists():
        raise ValidationError(
            f"This action item was agreed in the published review of {item.raised_in}; "
            f"start a correction of that review to change its wording."
        )


def action_item_update(
    *, item: ActionItem, values: dict, actor, contract, source="web", review: Review | None = None
):
    """Change an item's title, owner or due date (in a draft: see _require_item_open_to_change)."""
    _require_item_open_to_change(item, review, wording=True)
    return update_audited(
        item,
        values,
        fields=["title", "owner_side", "due_on"],
        actor=actor,
        source=source,
        contract=contract,
        action="action_item_edited",
        only_changed=True,
    )


def action_item_set_status(
    *, item: ActionItem, status: str, actor, contract, source="web", review: Review | None = None
):
    """Move an item to open, in progress or closed (recording who closed it), in a draft."""
    _require_item_open_to_change(item, review, wording=False)
    before = snapshot(item, ["status"])
    item.status = status
    closed = status == ActionItem.Status.CLOSED
    item.closed_at = timezone.now() if closed else None
    item.closed_by = actor if closed else None
    item.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(
        actor=actor,
        source=source,
        contract=contract,
        action="action_item_status",
        obj=item,
        changes=diff(before, snapshot(item, ["status"])),
    )
    return item


def comment_add(*, review: Review, body: str, actor) -> ReviewComment:
    body = body.strip()
    if not body:
        raise ValidationError("A comment cannot be empty.")
    return ReviewComment.objects.create(review=review, author=actor, body=body)


def share_link_create(*, review: Review, days: int, actor, source="web") -> tuple[ShareLink, str]:
    """A read-only link to a published review, valid for `days` (1–90): (link, token)."""
    if not review.published:
        raise ValidationError("Only a published review can be shared.")
    if not 1 <= days <= SHARE_MAX_DAYS:
        raise ValidationError(f"A link lasts 1 to {SHARE_MAX_DAYS} days.")
    link = ShareLink.objects.create(
        review=review, created_by=actor, expires_at=timezone.now() + timedelta(days=days)
    )
    audit_record(
        actor=actor, source=source, contract=review.contract, action="review_shared", obj=link
    )
    return link, share_token(link)


def share_token(link: ShareLink) -> str:
    return signing.dumps({"link": link.pk, "review": link.review_id}, salt=SHARE_SALT)


def share_link_resolve(token: str) -> tuple[ShareLink | None, str]:
    """The live link a token names, or (None, why): a forged token, a revoked or expired link."""
    try:
        payload = signing.loads(token, salt=SHARE_SALT)
    except signing.BadSignature:
        return None, "invalid"
    link = (
        ShareLink.objects.filter(pk=payload.get("link"), review_id=payload.get("review"))
        .select_related("review", "review__client", "review__contract")
        .first()
    )
    if link is None or link.revoked_at is not None:
        return None, "revoked"
    if link.expires_at <= timezone.now():
        return None, "expired"
    return link, ""


def share_link_revoke(*, link: ShareLink, actor, source="web") -> None:
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        source=source,
        contract=link.review.contract,
        action="review_share_revoked",
        obj=link,
    )


def branding_save(
    *, contract: Contract, paper: str, logo=None, logo_type: str = "", actor, source: str = "web"
) -> ReviewBranding:
    """Set the paper size and, when one is given, the cover logo of the PDFs of the contract's
    reviews; the change is in the contract's audit trail (before → after, the logo by the name
    it was uploaded with)."""
    branding = ReviewBranding.objects.filter(contract=contract).first() or ReviewBranding(
        client=contract.client, contract=contract
    )
    created = branding.pk is None
    changes = {}
    if created or branding.paper != paper:
        changes["paper"] = [None if created else branding.paper, paper]
    branding.paper = paper
    if logo:
        changes["logo"] = ["a logo" if branding.logo else None, logo.name]
        branding.logo, branding.logo_type = logo, logo_type
    branding.full_clean()
    branding.save()
    if changes:
        audit_record(
            actor=actor,
            source=source,
            contract=contract,
            action="create" if created else "update",
            obj=branding,
            changes=changes,
        )
    return branding
