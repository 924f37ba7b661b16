"""Who may see and change what. Every view and API endpoint reaches tenant data through here.

A person sees a contract when they belong to its client, its MSP or its advisory firm, and a client
when they see one of its contracts or belong to it. Anything else does not exist for them (404,
never a 403 that would confirm it exists). Among what they can see, the role they hold on the
relevant side decides what they may change (403 when they may not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from contracts.models import Contract, Membership, Organisation
from kpis.models import ImportJob
from msp_portal import sql

WRITE_ROLES = {Membership.Role.ADMIN, Membership.Role.MEMBER}


class Side(StrEnum):
    CLIENT = "client"
    MSP = "msp"
    ADVISOR = "advisor"


class Action(StrEnum):
    """What a person may do to a contract and everything under it."""

    VIEW = "view"
    EDIT_CONTRACT = "edit_contract"  # terms, SLA versions, matrix content, commitments
    SET_UP_CONTRACT = "set_up_contract"  # the setup pages: MSP admins and advisors
    APPROVE_MATRIX_CLIENT = "approve_matrix_client"
    APPROVE_MATRIX_MSP = "approve_matrix_msp"
    IMPORT_TICKETS = "import_tickets"  # upload a PSA export for the client
    RECORD_OUTAGE = "record_outage"  # enter or remove a service outage window
    EDIT_REVIEW = "edit_review"  # QBR drafts, commentary, action items, publish, share
    COMMENT_REVIEW = "comment_review"  # comment on a review, close the side's own action items
    OPEN_DISPUTE = "open_dispute"  # contest a measured verdict, pause, priority, exclusion
    ANSWER_DISPUTE = "answer_dispute"  # accept or reject a dispute: the MSP's side
    ENTER_REPORTED = "enter_reported"  # the figures the MSP's own report states, with the file
    EDIT_SCORECARD = "edit_scorecard"  # the provider scorecard's weights, candidates, answers


# Which side, holding which roles, may do each action. VIEW needs only a membership.
_RULES: dict[Action, dict[Side, set[str]]] = {
    Action.EDIT_CONTRACT: {
        Side.MSP: WRITE_ROLES,
        Side.ADVISOR: WRITE_ROLES,
        Side.CLIENT: {Membership.Role.ADMIN},
    },
    # The onboarding pages set every rule at once: the MSP's admins and the advisory firm's
    # consultants, never the client alone (its side approves what they propose).
    Action.SET_UP_CONTRACT: {Side.MSP: {Membership.Role.ADMIN}, Side.ADVISOR: WRITE_ROLES},
    Action.APPROVE_MATRIX_CLIENT: {Side.CLIENT: WRITE_ROLES},
    Action.APPROVE_MATRIX_MSP: {Side.MSP: WRITE_ROLES},
    Action.IMPORT_TICKETS: {Side.MSP: WRITE_ROLES, Side.ADVISOR: WRITE_ROLES},
    # Both sides observe outages; each entry is audited and recomputes the client's uptime.
    Action.RECORD_OUTAGE: {
        Side.MSP: WRITE_ROLES,
        Side.CLIENT: WRITE_ROLES,
        Side.ADVISOR: WRITE_ROLES,
    },
    # The review is the advisor's and the MSP's account to the client; the client reads it,
    # comments and closes the action items that are its own.
    Action.EDIT_REVIEW: {Side.MSP: WRITE_ROLES, Side.ADVISOR: WRITE_ROLES},
    # The client side contests what was measured (its admins, or its advisory firm on its
    # behalf); the MSP answers. A read-only member does neither.
    Action.OPEN_DISPUTE: {Side.CLIENT: {Membership.Role.ADMIN}, Side.ADVISOR: WRITE_ROLES},
    Action.ANSWER_DISPUTE: {Side.MSP: WRITE_ROLES},
    Action.ENTER_REPORTED: {Side.MSP: WRITE_ROLES, Side.ADVISOR: WRITE_ROLES},
    # The provider scorecard is the client's choice of MSP: its admins and its advisory firm
    # score; the incumbent MSP reads its own column only (may_see_rival_candidates).
    Action.EDIT_SCORECARD: {Side.CLIENT: {Membership.Role.ADMIN}, Side.ADVISOR: WRITE_ROLES},
    Action.COMMENT_REVIEW: {
        Side.MSP: WRITE_ROLES,
        Side.CLIENT: WRITE_ROLES,
        Side.ADVISOR: WRITE_ROLES,
    },
}


@dataclass(frozen=True)
class Access:
    """The roles a person holds on each side of one contract (or of a client, for client pages)."""

    roles: dict[Side, str] = field(default_factory=dict)

    def can(self, action: Action) -> bool:
        if not self.roles:
            return False
        if action == Action.VIEW:
            return True
        allowed = _RULES[action]
        return any(role in allowed.get(side, ()) for side, role in self.roles.items())

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(f"Your role does not allow this ({action.value}).")

    @property
    def read_only(self) -> bool:
        return not any(role in WRITE_ROLES for role in self.roles.values())


def _anonymous(user) -> bool:
    return user is None or not user.is_authenticated


def user_memberships(user) -> list[Membership]:
    """The user's memberships with their organisations, by organisation name.

    Read once per request and kept on the user object: Django loads `request.user` afresh for
    every request (session or token), so a change of membership shows from the next request on.
    Every other rule below starts from these ids, which spares each page several joins."""
    if _anonymous(user):
        return []
    memberships = getattr(user, "_tenancy_memberships", None)
    if memberships is None:
        memberships = _memberships_from(sql.fetch(_MEMBERSHIPS_SQL, [user.pk]), 0)
        user._tenancy_memberships = memberships
    return memberships


def _memberships_from(rows: list[tuple], start: int) -> list[Membership]:
    """Memberships with their organisations, from the columns at `start` of each row: a
    membership's, then its organisation's. A row without one (an outer join's) is skipped."""
    memberships = []
    for row in rows:
        if row[start] is None:
            continue
        membership = sql.load(Membership, row, start)
        membership.organisation = sql.load(Organisation, row, start + sql.width(Membership))
        memberships.append(membership)
    return memberships


# Membership.objects.filter(user=user).select_related("organisation"), in the model's order,
# written out because it runs on every request (msp_portal/sql.py says why).
_MEMBERSHIPS_SQL = f"""
    SELECT {sql.columns(Membership, "m")}, {sql.columns(Organisation, "o")}
    FROM contracts_membership m JOIN contracts_organisation o ON o.id = m.organisation_id
    WHERE m.user_id = %s ORDER BY o.name, m.id
"""  # noqa: S608 - names from _meta; values are parameters


def user_with_memberships(user_id: int):
    """The user with this id and their memberships (as user_memberships gives them) in one
    query, or None: what the session's user is loaded with (accounts/backends.py), since
    every page reads both."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    rows = sql.fetch(_USER_WITH_MEMBERSHIPS_SQL, [user_id])
    if not rows:
        return None
    user = sql.load(user_model, rows[0])
    user._tenancy_memberships = _memberships_from(rows, sql.width(user_model))
    return user


def _user_with_memberships_sql() -> str:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    return f"""
        SELECT {sql.columns(user_model, "u")}, {sql.columns(Membership, "m")},
               {sql.columns(Organisation, "o")}
        FROM "{user_model._meta.db_table}" u
        LEFT JOIN contracts_membership m ON m.user_id = u.id
        LEFT JOIN contracts_organisation o ON o.id = m.organisation_id
        WHERE u.id = %s ORDER BY o.name, m.id
    """  # noqa: S608 - names from _meta; values are parameters


_USER_WITH_MEMBERSHIPS_SQL = _user_with_memberships_sql()


def _roles_by_org(user) -> dict[int, str]:
    return {m.organisation_id: m.role for m in user_memberships(user)}


def visible_contracts(user) -> QuerySet[Contract]:
    """Contracts the user is party to through their client, MSP or advisory firm."""
    orgs = list(_roles_by_org(user))
    if not orgs:
        return Contract.objects.none()
    return Contract.objects.filter(
        Q(client_id__in=orgs) | Q(msp_id__in=orgs) | Q(advisor_id__in=orgs)
    )


def visible_clients(user) -> QuerySet[Organisation]:
    """Client organisations the user belongs to or sees a contract of."""
    orgs = list(_roles_by_org(user))
    if not orgs:
        return Organisation.objects.none()
    # A contract seen through the client side names a client the user already belongs to.
    served = Contract.objects.filter(Q(msp_id__in=orgs) | Q(advisor_id__in=orgs))
    return Organisation.objects.filter(
        Q(kind=Organisation.Kind.CLIENT) & (Q(pk__in=orgs) | Q(pk__in=served.values("client_id")))
    )


def user_organisations(user) -> QuerySet[Organisation]:
    """The organisations the user is a member of (for the organisation switcher)."""
    orgs = list(_roles_by_org(user))
    if not orgs:
        return Organisation.objects.none()
    return Organisation.objects.filter(pk__in=orgs)


def nav_clients(user) -> list[Organisation]:
    """visible_clients as a list, for the header. Someone who belongs only to clients sees
    exactly those, so their memberships answer without another query."""
    memberships = user_memberships(user)
    if all(m.organisation.kind == Organisation.Kind.CLIENT for m in memberships):
        return [m.organisation for m in memberships]
    return list(visible_clients(user).only("slug", "name"))


def _best_roles(roles: dict[int, str], client_id: int, parties) -> Access:
    """The user's best role per side over a client: their role in the client itself, and in
    the MSP or advisory firm of any of its contracts, given as (msp id, advisor id) pairs."""
    found: dict[Side, str] = {}
    if client_id in roles:
        found[Side.CLIENT] = roles[client_id]
    for msp_id, advisor_id in parties:
        for side, org in ((Side.MSP, msp_id), (Side.ADVISOR, advisor_id)):
            if org in roles and (side not in found or roles[org] in WRITE_ROLES):
                found[side] = roles[org]
    return Access(found)


def contract_access(user, contract: Contract) -> Access:
    """The user's roles on each side of this contract (empty when they are not party to it)."""
    if _anonymous(user):
        return Access()
    roles = _roles_by_org(user)
    sides = {
        Side.CLIENT: contract.client_id,
        Side.MSP: contract.msp_id,
        Side.ADVISOR: contract.advisor_id,
    }
    return Access({side: roles[org] for side, org in sides.items() if org in roles})


def get_client_or_404(user, slug: str) -> tuple[Organisation, Access]:
    """The client with this slug if the user may see it; otherwise 404.

    One query: the client with the MSP and advisor of each of its contracts; the user's roles
    (read once per request) decide."""
    client, access, _ = _client_or_404(user, slug, with_contract=False)
    return client, access


def get_client_with_contract_or_404(
    user, slug: str
) -> tuple[Organisation, Access, Contract | None]:
    """get_client_or_404 and the client's current contract (contracts.selectors.current_contract)
    read in the same query, for the pages every figure links to: one round trip fewer on each."""
    return _client_or_404(user, slug, with_contract=True)


def _client_or_404(user, slug: str, *, with_contract: bool):
    roles = _roles_by_org(user)
    query = _CLIENT_WITH_CONTRACT_SQL if with_contract else _CLIENT_SQL
    rows = sql.fetch(query, [slug, Organisation.Kind.CLIENT.value]) if roles else None
    if not rows:
        raise Http404("No such client.")
    row, width = rows[0], sql.width(Organisation)
    client = sql.load(Organisation, row)
    msps, advisors = row[width : width + 2]
    access = _best_roles(roles, client.pk, zip(msps, advisors, strict=True))
    if not access.roles:
        raise Http404("No such client.")
    contract = None
    if with_contract and row[width + 2] is not None:  # the contract's id: None when it has none
        contract = sql.load(Contract, row, width + 2)
    return client, access, contract


# The client by slug with the MSP and advisor of each of its contracts (empty arrays when it
# has none), and, in the second form, its current contract: the newest by start, as
# contracts.selectors.current_contract picks it.
_CLIENT_FROM = """
    FROM contracts_organisation o
    LEFT JOIN LATERAL (
        SELECT coalesce(array_agg(p.msp_id), '{}') AS msps,
               coalesce(array_agg(p.advisor_id), '{}') AS advisors
        FROM contracts_contract p WHERE p.client_id = o.id
    ) parties ON true
"""
_CLIENT_SQL = f"""
    SELECT {sql.columns(Organisation, "o")}, parties.msps, parties.advisors {_CLIENT_FROM}
    WHERE o.slug = %s AND o.kind = %s
"""
_CLIENT_WITH_CONTRACT_SQL = f"""
    SELECT {sql.columns(Organisation, "o")}, parties.msps, parties.advisors,
           {sql.columns(Contract, "c")} {_CLIENT_FROM}
    LEFT JOIN LATERAL (
        SELECT * FROM contracts_contract n WHERE n.client_id = o.id
        ORDER BY n.starts DESC, n.id DESC LIMIT 1
    ) c ON true
    WHERE o.slug = %s AND o.kind = %s
"""  # noqa: S608 - names from _meta; values are parameters


def get_client_contract_or_404(user, slug: str, pk) -> tuple[Organisation, Contract, Access]:
    """The client with this slug and its contract `pk`, both visible to the user; else 404."""
    client, _ = get_client_or_404(user, slug)
    contract, access = get_contract_or_404(user, client, pk)
    return client, contract, access


def get_contract_or_404(user, client: Organisation, pk) -> tuple[Contract, Access]:
    """A contract of this client that the user is party to; otherwise 404."""
    contract = (
        visible_contracts(user)
        .filter(client=client, pk=pk)
        .select_related("client", "msp", "advisor")
        .first()
    )
    if contract is None:
        raise Http404("No such contract.")
    return contract, contract_access(user, contract)


def writing_organisations(user) -> set[int]:
    """Ids of the organisations the user writes for: those they hold a writing role in, and the
    clients of contracts they may edit. A write naming any other existing organisation (a
    contract file, say) must be refused: it would reach into another tenant."""
    own = {org for org, role in _roles_by_org(user).items() if role in WRITE_ROLES}
    if not own:
        return set()
    served = visible_contracts(user).select_related(None).only("client_id", "msp_id", "advisor_id")
    return own | {c.client_id for c in served if contract_access(user, c).can(Action.EDIT_CONTRACT)}


def onboarding_parties(user) -> tuple[list[Organisation], list[Organisation]]:
    """(MSPs, advisory firms) a new client's contract may be set up with: the user's own MSPs
    and advisory firms where they are an admin, and for an advisory firm the MSPs it already
    works with (on the contracts it advises)."""
    admin_of = [m.organisation for m in user_memberships(user) if m.role == Membership.Role.ADMIN]
    advisors = [org for org in admin_of if org.kind == Organisation.Kind.ADVISOR]
    msps = {org.pk: org for org in admin_of if org.kind == Organisation.Kind.MSP}
    if advisors:
        worked_with = Organisation.objects.filter(
            msp_contracts__advisor__in=[a.pk for a in advisors]
        ).distinct()
        msps.update({org.pk: org for org in worked_with})
    return sorted(msps.values(), key=lambda o: o.name), advisors


# --- Ticket imports ---------------------------------------------------------------------------


def visible_imports(user) -> QuerySet[ImportJob]:
    """Imports of the user's MSP, and single-client imports of clients the user may see."""
    if _anonymous(user):
        return ImportJob.objects.none()
    return ImportJob.objects.filter(
        Q(msp__memberships__user=user) | Q(client__in=visible_clients(user).values("pk"))
    ).distinct()


def get_import_or_404(user, pk) -> tuple[ImportJob, Access]:
    """An import the user may see, with what they may do to it; otherwise 404."""
    job = visible_imports(user).filter(pk=pk).select_related("msp", "client").first()
    if job is None:
        raise Http404("No such import.")
    return job, import_access(user, job)


def import_access(user, job: ImportJob) -> Access:
    """MSP-side roles come from the job's MSP; others from the client's contracts with it."""
    roles = _roles_by_org(user)
    found: dict[Side, str] = {}
    if job.msp_id in roles:
        found[Side.MSP] = roles[job.msp_id]
    if job.client_id:
        for contract in visible_contracts(user).filter(client_id=job.client_id, msp_id=job.msp_id):
            for side, role in contract_access(user, contract).roles.items():
                if side != Side.MSP and (side not in found or role in WRITE_ROLES):
                    found[side] = role
    return Access(found)


def may_download_import_file(user, job: ImportJob) -> bool:
    # The original export can hold every client of the MSP: only its side and the uploader.
    return (
        job.uploaded_by_id == user.pk
        or Membership.objects.filter(user=user, organisation_id=job.msp_id).exists()
    )


def importable_clients(user) -> list[tuple[Organisation, Organisation]]:
    """(client, msp) pairs the user may upload tickets for."""
    pairs = []
    contracts = visible_contracts(user).select_related("client", "msp", "advisor")
    for contract in contracts.order_by("client__name"):
        allowed = contract_access(user, contract).can(Action.IMPORT_TICKETS)
        if allowed and (contract.client, contract.msp) not in pairs:
            pairs.append((contract.client, contract.msp))
    return pairs


def importing_msps(user) -> QuerySet[Organisation]:
    """MSPs the user may run several-client imports for (their own, with a writing role)."""
    return Organisation.objects.filter(
        kind=Organisation.Kind.MSP,
        memberships__user=user,
        memberships__role__in=WRITE_ROLES,
    ).distinct()


# --- Quarterly business reviews ---------------------------------------------------------------


def get_review_or_404(user, slug: str, pk):
    """A review of this client whose contract the user is party to: (client, review, access)."""
    from reviews.models import Review

    client, _ = get_client_or_404(user, slug)
    review = (
        Review.objects.filter(client=client, pk=pk, contract__in=visible_contracts(user))
        .select_related("contract", "contract__msp", "contract__advisor", "client")
        .first()
    )
    if review is None:
        raise Http404("No such review.")
    return client, review, contract_access(user, review.contract)


def commitment_sides(owner: str) -> tuple[Side, Side]:
    """(the side that records an occurrence done, the side that confirms or disputes it). A
    commitment is its owner's to record and the other side's to confirm: the MSP records its
    own and shared ones and the client answers; the client records the customer's own ones."""
    if owner == "customer":
        return Side.CLIENT, Side.MSP
    return Side.MSP, Side.CLIENT


def may_record_commitment(access: Access, owner: str) -> bool:
    """Mark an occurrence done and upload its evidence: a writer of the recording side."""
    return access.roles.get(commitment_sides(owner)[0]) in WRITE_ROLES


def may_answer_commitment(access: Access, owner: str) -> bool:
    """Confirm or dispute an occurrence recorded as done: a writer of the other side."""
    return access.roles.get(commitment_sides(owner)[1]) in WRITE_ROLES


def may_see_rival_candidates(access: Access) -> bool:
    """The scorecard's newcomers and their answers: the client's side and its advisory firm. The
    incumbent MSP sees its own scores, never what its rivals answered."""
    return Side.CLIENT in access.roles or Side.ADVISOR in access.roles


def may_set_action_item(access: Access, owner_side: str) -> bool:
    """Reviewers move any item; a side that may comment moves the items it owns."""
    if access.can(Action.EDIT_REVIEW):
        return True
    role = access.roles.get(Side(owner_side))
    return role in WRITE_ROLES and access.can(Action.COMMENT_REVIEW)


def writes_for_msp(user, msp_id: int) -> bool:
    """Whether the user holds a writing role in this MSP itself: what an MSP-wide setting (a
    saved import mapping, used for all its clients) needs. Advisors and client members do
    not, whatever they may do for the clients they see."""
    return _roles_by_org(user).get(msp_id) in WRITE_ROLES


def party_contracts(user, client: Organisation) -> QuerySet[Contract]:
    """The contracts of this client the user is party to: all of them for the client's own
    members; for an MSP or advisory firm, its own only. A client can have several MSPs, and
    what one writes with the client (reviews, their action items, the PDF's look) is not the
    other's to read or change."""
    return visible_contracts(user).filter(client=client)


def current_party_contract(user, client: Organisation) -> Contract | None:
    """The newest of party_contracts (by start, ties by id, as current_contract picks): the
    contract a review page of this user starts from."""
    return (
        party_contracts(user, client)
        .select_related("client", "msp", "advisor")
        .order_by("-starts", "-id")
        .first()
    )


# --- People of an organisation ----------------------------------------------------------------


def get_own_organisation_or_404(user, slug: str) -> tuple[Organisation, str]:
    """An organisation the user is a member of, with their role in it; otherwise 404. Its people
    and invitations are its own business: the MSP or advisory firm serving a client does not see
    the client's, nor the client theirs."""
    for membership in user_memberships(user):
        if membership.organisation.slug == slug:
            return membership.organisation, membership.role
    # A client set up in the browser has nobody yet: until it has an admin of its own, whoever
    # may set up its contract (MSP admins, the advisory firm) invites its first people, so its
    # side can approve the rules. From its first admin on, its people are its own business.
    client = Organisation.objects.filter(slug=slug, kind=Organisation.Kind.CLIENT).first()
    if client is not None and not client.memberships.filter(role=Membership.Role.ADMIN).exists():
        for contract in Contract.objects.filter(client=client):
            if contract_access(user, contract).can(Action.SET_UP_CONTRACT):
                return client, Membership.Role.ADMIN
    raise Http404("No such organisation.")


def may_manage_people(role: str) -> bool:
    """Invite, resend, revoke, change a role, remove: the organisation's admins only."""
    return role == Membership.Role.ADMIN
