"""Who may do what, as named predicates.

Views, services and templates all ask these, so a hidden button and a refused action never
disagree. Each takes the acting user first; anonymous users are handled here too.
"""

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
    CreditStatus,
    Membership,
    Organisation,
    OrgRole,
    ProjectCredit,
    ProjectExample,
    User,
)
from marketplace.models.bid import OPENED_STATES, Bid

MANAGER_ROLES = (OrgRole.OWNER, OrgRole.ADMIN)


def _is_user(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def membership_of(user, org: Organisation) -> Membership | None:
    if not _is_user(user):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.organisation_id == org.id,
                                 Membership.user_id == user.id))


def is_member(user, org: Organisation) -> bool:
    return membership_of(user, org) is not None


def is_org_manager(user, org: Organisation) -> bool:
    """Owners and admins manage an organisation (profile, members, bids, tenders)."""
    m = membership_of(user, org)
    return m is not None and m.role in MANAGER_ROLES


def is_org_owner(user, org: Organisation) -> bool:
    m = membership_of(user, org)
    return m is not None and m.role == OrgRole.OWNER


def can_view_org_members(user, org: Organisation) -> bool:
    return is_member(user, org) or is_site_admin(user)


def can_manage_members(user, org: Organisation) -> bool:
    return is_org_manager(user, org)


def can_assign_role(user, org: Organisation, role: OrgRole) -> bool:
    """Only owners make or unmake owners; admins manage admins and members."""
    if role == OrgRole.OWNER:
        return is_org_owner(user, org)
    return is_org_manager(user, org)


def can_change_member(user, target: Membership) -> bool:
    """Admins cannot touch owners; owners can touch anyone."""
    org = target.organisation
    if target.role == OrgRole.OWNER:
        return is_org_owner(user, org)
    return is_org_manager(user, org)


def is_site_admin(user) -> bool:
    return _is_user(user) and bool(user.is_site_admin)


def can_suspend(user, target: User) -> bool:
    return is_site_admin(user) and user.id != target.id


def can_view_org(user, org: Organisation) -> bool:
    """Hidden (moderated) organisations are visible to their members and site admins."""
    return org.hidden_at is None or is_member(user, org) or is_site_admin(user)


# -- alliances and collaborative project examples -----------------------------------------
# An organisation is the alliance member; a user acts for it when they manage it (owner or
# admin). Plain members of a member organisation may look, not act.

def alliance_memberships_managed_by(user, alliance: Alliance,
                                    role: AllianceRole | None = None) -> list[AllianceMember]:
    """The alliance's member rows whose organisation this user manages (optionally by role)."""
    if not _is_user(user):
        return []
    query = (select(AllianceMember).join(
        Membership, Membership.organisation_id == AllianceMember.organisation_id)
        .where(AllianceMember.alliance_id == alliance.id, Membership.user_id == user.id,
               Membership.role.in_(MANAGER_ROLES))
        .order_by(AllianceMember.id))
    if role is not None:
        query = query.where(AllianceMember.role == role)
    return list(db.session.scalars(query))


def is_in_alliance(user, alliance: Alliance) -> bool:
    """The user belongs, in any role, to one of the alliance's member organisations."""
    if not _is_user(user):
        return False
    return db.session.scalar(
        select(AllianceMember.id).join(
            Membership, Membership.organisation_id == AllianceMember.organisation_id)
        .where(AllianceMember.alliance_id == alliance.id, Membership.user_id == user.id)
        .limit(1)) is not None


def can_view_alliance(user, alliance: Alliance) -> bool:
    """Alliance pages are public unless moderators hid them."""
    return alliance.hidden_at is None or is_in_alliance(user, alliance) or is_site_admin(user)


def can_view_alliance_membership(user, alliance: Alliance) -> bool:
    """The membership page (pending invitations, actions) is for the alliance's own people."""
    return is_in_alliance(user, alliance) or is_site_admin(user)


def can_lead_alliance(user, alliance: Alliance) -> bool:
    """Edit, invite, remove, promote, dissolve: managers of a lead organisation, while live."""
    return alliance.is_live and bool(
        alliance_memberships_managed_by(user, alliance, AllianceRole.LEAD))


def can_leave_alliance(user, alliance: Alliance) -> bool:
    return alliance.is_live and bool(alliance_memberships_managed_by(user, alliance))


def can_answer_alliance_invitation(user, invitation: AllianceInvitation) -> bool:
    return is_org_manager(user, invitation.organisation)


def can_edit_project(user, project: ProjectExample) -> bool:
    return is_org_manager(user, project.owner_org)


def can_answer_credit(user, credit: ProjectCredit) -> bool:
    """A partner's owners and admins confirm or reject its credit (never the poster's own)."""
    return (credit.organisation_id != credit.project.owner_org_id
            and is_org_manager(user, credit.organisation))


def is_project_insider(user, project: ProjectExample) -> bool:
    """Members of the posting organisation or of a credited (not rejecting) partner."""
    if not _is_user(user):
        return False
    org_ids = {project.owner_org_id} | {c.organisation_id for c in project.credits
                                        if c.status != CreditStatus.REJECTED}
    return db.session.scalar(
        select(Membership.id).where(Membership.user_id == user.id,
                                    Membership.organisation_id.in_(org_ids)).limit(1)) is not None


def can_view_project(user, project: ProjectExample) -> bool:
    """Public once a partner confirmed; before that only its insiders and site admins."""
    return project.is_public or is_project_insider(user, project) or is_site_admin(user)


# -- capability profiles -------------------------------------------------------------------

def can_edit_profile(user, org: Organisation) -> bool:
    """Owners and admins edit their organisation's profile; plain members only look."""
    return is_org_manager(user, org)


def can_view_profile(user, org: Organisation) -> bool:
    """Published profiles are public (unless moderators hid the organisation); drafts are
    for the organisation's own people and site admins."""
    if not can_view_org(user, org):
        return False
    profile = org.profile
    if profile is not None and profile.published_at is not None:
        return True
    return is_member(user, org) or is_site_admin(user)


def can_see_profile_contact(user, org: Organisation) -> bool:
    """Contact details are for logged-in users, which keeps them away from scrapers."""
    return _is_user(user) and can_view_profile(user, org)


# -- tenders ---------------------------------------------------------------------------------
# Imported notices (tender.source set) mirror a public portal: nobody on Guild edits them or
# answers questions on them; the teaming board still works.

def can_view_tender(user, tender) -> bool:
    """Drafts are private to the buyer's members; a hidden buyer hides its tenders."""
    from marketplace.models import TenderStatus

    if tender.status == TenderStatus.DRAFT:
        return is_member(user, tender.buyer)
    return can_view_org(user, tender.buyer)


def can_create_tender(user, org: Organisation | None) -> bool:
    return org is not None and is_org_manager(user, org)


def can_manage_tender(user, tender) -> bool:
    """Edit, publish, cancel, upload documents, answer questions: owners and admins of the
    buyer organisation. Site admins moderate; they do not run other people's tenders."""
    return not tender.is_imported and is_org_manager(user, tender.buyer)


def can_view_tender_history(user, tender) -> bool:
    return is_member(user, tender.buyer) or is_site_admin(user)


def can_ask_clarification(user, tender, org: Organisation | None) -> bool:
    """Any logged-in organisation but the buyer itself, on a Guild tender."""
    return (org is not None and is_member(user, org) and not tender.is_imported
            and org.id != tender.buyer_id)


def can_view_teaming_board(user) -> bool:
    return _is_user(user)


def can_post_teaming(user, tender, org: Organisation | None) -> bool:
    """An organisation speaks on the board through its owners and admins."""
    return org is not None and org.id != tender.buyer_id and is_org_manager(user, org)


# -- bids ---------------------------------------------------------------------------------
# Sealed until the deadline: only users of the bid's member organisations see a bid. After
# the deadline the buyer's people see the bids that were submitted, never drafts, withdrawn
# or invalidated ones. Site admins never see bids. ``now`` is the request's clock.

def _user_org_ids(user) -> set[int]:
    if not _is_user(user):
        return set()
    return set(db.session.scalars(select(Membership.organisation_id)
                                  .where(Membership.user_id == user.id)))


def _managed_org_ids(user) -> set[int]:
    if not _is_user(user):
        return set()
    return set(db.session.scalars(select(Membership.organisation_id).where(
        Membership.user_id == user.id, Membership.role.in_(MANAGER_ROLES))))


def deadline_passed(tender, now) -> bool:
    return tender.deadline is not None and now >= tender.deadline


def is_bid_member(user, bid: Bid) -> bool:
    return bool(_user_org_ids(user) & {m.organisation_id for m in bid.members})


def bid_orgs_managed_by(user, bid: Bid) -> list[Organisation]:
    """The bid's member organisations this user may approve for (owner or admin)."""
    managed = _managed_org_ids(user)
    return [m.organisation for m in bid.members if m.organisation_id in managed]


def can_see_bids_of_tender(user, tender, now) -> bool:
    """A tender cancelled before its deadline never opens its bids."""
    cancelled_early = (getattr(tender, "cancelled_at", None) is not None
                       and tender.deadline is not None and tender.cancelled_at < tender.deadline)
    return deadline_passed(tender, now) and not cancelled_early and is_member(user, tender.buyer)


def can_evaluate_bids(user, tender, now) -> bool:
    """Shortlist, disqualify, award: the buyer's owners and admins, after the deadline."""
    return deadline_passed(tender, now) and is_org_manager(user, tender.buyer)


def can_view_bid(user, bid: Bid, now) -> bool:
    if is_bid_member(user, bid):
        return True
    return bid.state in OPENED_STATES and can_see_bids_of_tender(user, bid.tender, now)


def can_edit_bid(user, bid: Bid) -> bool:
    """The lead organisation's owners and admins assemble the bid."""
    return is_org_manager(user, bid.lead_org)


def can_approve_bid(user, bid: Bid) -> bool:
    return bool(bid_orgs_managed_by(user, bid))


def can_view_bid_history(user, bid: Bid, now) -> bool:
    return can_view_bid(user, bid, now)


def can_bid_for(user, org: Organisation, tender) -> bool:
    """An organisation bids through its owners and admins, never on its own tender."""
    return org.id != tender.buyer_id and is_org_manager(user, org)
