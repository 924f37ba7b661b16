"""QBR pages: the client's reviews, one review (read, edit, publish, correct, share, PDF), and
the logged-out page a share link opens. Views parse, authorise, call a service, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from kpis.dashboard.periods import default_periods
from kpis.models import KpiSnapshot
from msp_portal.downloads import stored_file_download
from msp_portal.feedback import refusals_said
from msp_portal.tenancy import (
    Action,
    contract_access,
    current_party_contract,
    get_client_or_404,
    get_review_or_404,
    may_set_action_item,
    party_contracts,
)

from . import board, services
from .context import NoFigures, review_content
from .generation import review_pdf_request
from .models import ActionItem, Review, ReviewBranding

LOGO_TYPES = {"image/png", "image/jpeg"}
LOGO_MAX_BYTES = 2 * 1024 * 1024


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = [
            "msp_commentary",
            "advisor_commentary",
            "recommendations",
            "attendees",
            "next_review_on",
            "correction_note",
        ]
        widgets = {
            "msp_commentary": forms.Textarea(attrs={"rows": 5}),
            "advisor_commentary": forms.Textarea(attrs={"rows": 5}),
            "recommendations": forms.Textarea(attrs={"rows": 4}),
            "attendees": forms.Textarea(attrs={"rows": 3}),
            "correction_note": forms.Textarea(attrs={"rows": 2}),
            "next_review_on": forms.DateInput(attrs={"type": "date"}),
        }


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=300)
    owner_side = forms.ChoiceField(choices=ActionItem.Side.choices, label="Owner")
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class BrandingForm(forms.ModelForm):
    logo = forms.FileField(required=False, help_text="PNG or JPEG, at most 2 MB")

    class Meta:
        model = ReviewBranding
        fields = ["paper", "logo"]

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "content_type"):
            head = logo.read(8)
            logo.seek(0)
            is_png, is_jpeg = head.startswith(b"\x89PNG"), head.startswith(b"\xff\xd8\xff")
            if logo.size > LOGO_MAX_BYTES or not (is_png or is_jpeg):
                raise ValidationError("The logo must be a PNG or JPEG file of at most 2 MB.")
            self.logo_type = "image/png" if is_png else "image/jpeg"
        return logo


def _quarters_with_figures(client) -> list[str]:
    return list(
        KpiSnapshot.objects.filter(client=client, period_kind="quarter")
        .order_by("-period_start")
        .values_list("period_label", flat=True)
    )


def _party_contract(user, slug):
    """(client, the newest contract of it the user is party to or None, access to that
    contract): a second MSP of the client neither sees nor changes the first one's reviews."""
    client, access = get_client_or_404(user, slug)
    contract = current_party_contract(user, client)
    return client, contract, contract_access(user, contract) if contract else access


@login_required
def review_list(request, slug):
    client, contract, access = _party_contract(request.user, slug)
    reviews = Review.objects.filter(
        client=client, contract__in=party_contracts(request.user, client)
    ).select_related("published_by")
    may_edit = contract is not None and access.can(Action.EDIT_REVIEW)
    context = {"client": client, "contract": contract, "reviews": reviews, "may_edit": may_edit}
    if may_edit:  # the forms to start a review and set the PDF's layout (of this contract's)
        branding = ReviewBranding.objects.filter(contract=contract).first() or ReviewBranding(
            client=client, contract=contract
        )
        form = BrandingForm(request.POST or None, request.FILES or None, instance=branding)
        if request.method == "POST" and form.is_valid():
            services.branding_save(
                contract=contract,
                paper=form.cleaned_data["paper"],
                # Without a new file the form gives back the stored one: nothing to change.
                logo=form.cleaned_data.get("logo") if "logo" in request.FILES else None,
                logo_type=getattr(form, "logo_type", ""),
                actor=request.user,
            )
            messages.success(request, "The PDF layout is saved.")
            return redirect("review_list", slug)
        context.update(
            branding_form=form,
            quarters=_quarters_with_figures(client),
            # The last complete quarter with data, not the newest (perhaps empty) one.
            default_quarter=default_periods({client.pk: contract})[client.pk],
        )
    elif request.method == "POST":
        access.require(Action.EDIT_REVIEW)
    return render(request, "reviews/review_list.html", context)


@login_required
@require_POST
def review_start(request, slug):
    client, contract, access = _party_contract(request.user, slug)
    if contract is None:
        raise Http404("No contract.")
    access.require(Action.EDIT_REVIEW)
    quarter = request.POST.get("quarter", "")
    if quarter not in _quarters_with_figures(client):
        messages.error(request, f"There are no figures for the quarter '{quarter}'.")
        return redirect("review_list", slug)
    review, created = services.review_draft_ensure(
        contract=contract, quarter=quarter, actor=request.user
    )
    if not created:
        messages.info(request, f"{quarter} already has a review: here it is.")
    return redirect("review_detail", slug, review.pk)


@login_required
def review_detail(request, slug, pk):
    client, review, access = get_review_or_404(request.user, slug, pk)
    try:
        content = review_content(review)
    except NoFigures as error:
        content, missing = None, str(error)
    else:
        missing = ""
    may_edit = access.can(Action.EDIT_REVIEW)
    editing = may_edit and not review.published
    item_forms = {}
    if content and not review.published:
        for item in content["action_items"]:
            if may_set_action_item(access, item["owner_side"]):
                item_forms[item["id"]] = True
    latest = Review.objects.filter(contract=review.contract_id, quarter=review.quarter).order_by(
        "-version"
    )
    return render(
        request,
        "reviews/review_detail.html",
        {
            "client": client,
            "contract": review.contract,
            "review": review,
            "r": content,
            "missing": missing,
            "may_edit": may_edit,
            "editing": editing,
            "may_comment": access.can(Action.COMMENT_REVIEW),
            "form": ReviewForm(instance=review) if editing else None,
            "item_form": ActionItemForm() if editing else None,
            "item_forms": item_forms,
            "item_statuses": ActionItem.Status.choices,
            "links": {"slug": client.slug, "contract": review.contract_id, "review": review.pk},
            "comments": review.comments.select_related("author"),
            "versions": latest,
            "share_links": review.share_links.all() if may_edit else [],
            "new_link": request.session.pop(f"share-link-{review.pk}", None),
            "today": timezone.localdate().isoformat(),
        },
    )


def _say_errors(request, form) -> None:
    """A form's errors as one message naming each field."""
    messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))


def _back(review) -> str:
    return reverse("review_detail", args=[review.client.slug, review.pk])


@login_required
@require_POST
def review_edit(request, slug, pk):
    _client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.EDIT_REVIEW)
    form = ReviewForm(request.POST, instance=Review.objects.get(pk=review.pk))
    if not form.is_valid():
        _say_errors(request, form)
        return redirect(_back(review))
    values = {name: form.cleaned_data[name] for name in ReviewForm.Meta.fields}
    with refusals_said(request):
        changes = services.review_update(review=review, values=values, actor=request.user)
        messages.success(request, "Saved." if changes else "Nothing changed.")
    return redirect(_back(review))


@login_required
@require_POST
def review_item_add(request, slug, pk):
    _client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.EDIT_REVIEW)
    form = ActionItemForm(request.POST)
    if not form.is_valid():
        _say_errors(request, form)
        return redirect(_back(review))
    with refusals_said(request):
        services.action_item_add(review=review, actor=request.user, **form.cleaned_data)
    return redirect(_back(review) + "#actions")


def _items_of(review):
    """Action items of the review's contract (and those from before items had one)."""
    return ActionItem.objects.filter(Q(contract=review.contract_id) | Q(contract__isnull=True))


@login_required
@require_POST
def review_item_status(request, slug, pk, item):
    client, review, access = get_review_or_404(request.user, slug, pk)
    action_item = get_object_or_404(_items_of(review), pk=item, client=client)
    status = request.POST.get("status", "")
    if status not in ActionItem.Status.values:
        messages.error(request, f"status: '{status}' is not one of {', '.join(ActionItem.Status)}")
        return redirect(_back(review))
    if not may_set_action_item(access, action_item.owner_side):
        access.require(Action.EDIT_REVIEW)  # raises PermissionDenied (403)
    with refusals_said(request):
        services.action_item_set_status(
            item=action_item,
            status=status,
            actor=request.user,
            contract=review.contract,
            review=review,
        )
        title, status = action_item.title, action_item.get_status_display()
        messages.success(request, f"“{title}” is now {status}.")
    return redirect(_back(review) + "#actions")


@login_required
@require_POST
def review_item_edit(request, slug, pk, item):
    client, review, access = get_review_or_404(request.user, slug, pk)
    action_item = get_object_or_404(_items_of(review), pk=item, client=client)
    access.require(Action.EDIT_REVIEW)
    form = ActionItemForm(request.POST)
    if not form.is_valid():
        _say_errors(request, form)
        return redirect(_back(review) + "#actions")
    with refusals_said(request):
        services.action_item_update(
            item=action_item,
            values=form.cleaned_data,
            actor=request.user,
            contract=review.contract,
            review=review,
        )
    return redirect(_back(review) + "#actions")


@login_required
@require_POST
def review_comment(request, slug, pk):
    _client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.COMMENT_REVIEW)
    with refusals_said(request):
        services.comment_add(review=review, body=request.POST.get("body", ""), actor=request.user)
    return redirect(_back(review) + "#comments")


@login_required
@require_POST
def review_publish(request, slug, pk):
    """Publishing asks first: the page says what is still empty (and so left out of the PDF),
    and only the confirmation's own button publishes."""
    client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.EDIT_REVIEW)
    if request.POST.get("confirmed") != "yes":
        try:
            content = review_content(review)
        except NoFigures as error:
            messages.error(request, str(error))
            return redirect(_back(review))
        return render(
            request,
            "reviews/publish_confirm.html",
            {
                "client": client,
                "contract": review.contract,
                "review": review,
                "empty": board.empty_sections(content),
                "verdict": content.get("verdict", ""),
            },
        )
    try:
        services.review_publish(review=review, actor=request.user)
    except (ValidationError, NoFigures) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(_back(review))
    review_pdf_request(review=review)
    messages.success(request, "Published: its figures and text are frozen. The PDF is on its way.")
    return redirect(_back(review))


@login_required
@require_POST
def review_correct(request, slug, pk):
    _client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.EDIT_REVIEW)
    with refusals_said(request):
        draft = services.review_correct(review=review, actor=request.user)
        messages.info(request, "A new version is open as a draft: say what it corrects.")
        return redirect(_back(draft))
    return redirect(_back(review))


@login_required
@require_POST
def review_share(request, slug, pk):
    _client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.EDIT_REVIEW)
    try:
        days = int(request.POST.get("days", "14"))
        _link, token = services.share_link_create(review=review, days=days, actor=request.user)
    except (ValueError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", ["days: a whole number"])))
        return redirect(_back(review))
    # Shown once, on the next page: the token is not stored anywhere but in the link.
    request.session[f"share-link-{review.pk}"] = request.build_absolute_uri(
        reverse("review_shared", args=[token])
    )
    return redirect(_back(review) + "#share")


@login_required
@require_POST
def review_share_revoke(request, slug, pk, link):
    _client, review, access = get_review_or_404(request.user, slug, pk)
    access.require(Action.EDIT_REVIEW)
    share = get_object_or_404(review.share_links, pk=link, revoked_at__isnull=True)
    services.share_link_revoke(link=share, actor=request.user)
    messages.success(request, "The link no longer works.")
    return redirect(_back(review) + "#share")


@login_required
def review_pdf(request, slug, pk):
    """GET: the last PDF made. POST: queue a new one (people with a writing role: it takes a
    worker's Chromium; a current PDF is not made again for a few minutes)."""
    _client, review, access = get_review_or_404(request.user, slug, pk)
    if request.method == "POST":
        access.require(Action.COMMENT_REVIEW)
        if not review_pdf_request(review=review) and review.pdf_status == Review.PdfStatus.DONE:
            messages.info(request, "The PDF was made a few minutes ago and is current.")
        return redirect(_back(review) + "#pdf")
    return pdf_response(review)


@login_required
def review_pdf_status(request, slug, pk):
    _client, review, _access = get_review_or_404(request.user, slug, pk)
    return JsonResponse(
        {
            "status": review.pdf_status,
            "phase": review.pdf_phase,
            "progress": review.pdf_progress,
            "message": review.pdf_message,
            "pages": review.pdf_pages,
            # The last PDF made, also while a new one is being made.
            "url": reverse("review_pdf", args=[slug, pk]) if review.pdf else None,
        }
    )


def pdf_response(review: Review):
    """The review's last PDF as a download: for its page, a share link and the API alike."""
    if not review.pdf:  # the last one made is served until a new one replaces it
        raise Http404("The PDF has not been generated yet.")
    name = f"QBR {review.client.name} {review.quarter} v{review.version}.pdf"
    return stored_file_download(review.pdf, name, "application/pdf")


def _shared_or_gone(token: str):
    link, why = services.share_link_resolve(token)
    if link is None:
        return None, why
    return link.review, ""


def review_shared(request, token):
    """The read-only review a share link opens, without an account."""
    review, why = _shared_or_gone(token)
    if review is None:
        status = 410 if why in ("expired", "revoked") else 404
        return render(request, "reviews/share_gone.html", {"why": why}, status=status)
    return render(
        request,
        "reviews/review_shared.html",
        {
            "review": review,
            "r": review_content(review),  # the frozen review, with the scorecard it implies
            "token": token,
        },
    )


def review_shared_pdf(request, token):
    review, _why = _shared_or_gone(token)
    if review is None:
        raise Http404("This link has expired or is not valid.")
    return pdf_response(review)
