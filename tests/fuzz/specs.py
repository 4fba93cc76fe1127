"""Every state-changing route, kept as data: who may use it in the fuzz world, which URL, which
WTForms class names its fields, and a valid baseline submission.

Baselines are functions of the current database (versions move as examples are accepted), so
a valid example stays valid after an earlier one was accepted. A route missing here fails
tests/fuzz/test_fuzz_forms.py::test_every_state_changing_route_is_fuzzed.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import select

from marketplace.admin.forms import ImportForm
from marketplace.alliances.forms import (
    AllianceForm,
    CreateAllianceForm,
    InviteOrganisationForm,
    MemberRoleForm,
    OrganisationChoiceForm,
)
from marketplace.api.forms import NewApiTokenForm
from marketplace.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ReauthenticateForm,
    RegisterForm,
    ResetPasswordForm,
)
from marketplace.bids.forms import (
    AddMemberForm,
    ApproveForm,
    BidForm,
    DisqualifyForm,
    StartBidForm,
    VersionForm,
)
from marketplace.bids.forms import DocumentForm as BidDocumentForm
from marketplace.extensions import db
from marketplace.forms import EmptyForm
from marketplace.models import (
    Alliance,
    Bid,
    BidMember,
    Organisation,
    ProjectExample,
    Tender,
)
from marketplace.orgs.forms import (
    ChangeRoleForm,
    InviteMemberForm,
    OrganisationForm,
    SwitchOrganisationForm,
)
from marketplace.profiles.forms import CertificationForm, CpvCodeForm, LogoForm, ProfileForm
from marketplace.projects.forms import (
    AllianceLinkForm,
    AnswerCreditForm,
    CreateProjectForm,
    CreditForm,
    PhotoForm,
    ProjectForm,
)
from marketplace.search.forms import SaveSearchForm, SearchForm
from marketplace.tenders.forms import (
    AnswerForm,
    ContactForm,
    EndTenderForm,
    QuestionForm,
    TeamingPostForm,
    TenderForm,
    VersionedActionForm,
)
from marketplace.tenders.forms import DocumentForm as TenderDocumentForm
from tests.conftest import PASSWORD
from tests.fuzz.world import PDF, World, png


@dataclass
class Spec:
    actor: str | None  # a key of World.users; None: anonymous
    url: object  # World -> str
    forms: tuple = (EmptyForm,)  # WTForms classes whose fields are posted
    baseline: object = lambda w: {}  # World -> dict of valid values
    prefix: str | object = ""  # the form's prefix (or World -> prefix)
    method: str = "POST"
    # Forms read from the query string of the POST (their fields are fuzzed there).
    query_forms: tuple = ()
    query: object = lambda w: {}
    # (table, column) pairs of existing rows this route may change although they are
    # ownership or status columns (see test_fuzz_forms.SENSITIVE).
    may_change: frozenset = field(default_factory=frozenset)
    # Answers an accepted POST with a page rather than a redirect (a token shown once, an
    # import report).
    renders_on_success: bool = False


def version(model, key: str):
    return lambda w: str(db.session.get(model, w.ids[key]).version)


def tender_version(key: str):
    return lambda w: str(db.session.get(Tender, w.ids[key]).version)


def bid_version(w, key="bid") -> str:
    return str(db.session.get(Bid, w.ids[key]).version)


def bid_lines(w: World) -> dict:
    members = db.session.scalars(select(BidMember).where(BidMember.bid_id == w.ids["bid"])
                                 .order_by(BidMember.id)).all()
    data = {}
    for i, m in enumerate(members):
        data[f"members-{i}-organisation_id"] = str(m.organisation_id)
        data[f"members-{i}-role"] = m.role.value
        data[f"members-{i}-work_share"] = "60" if i == 0 else str(40 // max(1, len(members) - 1))
    return data


def deadline_local(days=20) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def tender_fields(w: World, key: str | None = None) -> dict:
    data = {"title": "Roof repairs at three schools",
            "description": "Replace the flat roofs of three primary schools.",
            "requirements": "flat roofing\ncertification: CHAS", "cpv_codes": "45261000",
            "town": "Bath", "budget_min": "50000", "budget_max": "120000", "currency": "GBP",
            "deadline_local": deadline_local(), "deadline_zone": "Europe/London"}
    if key:
        data["version"] = str(db.session.get(Tender, w.ids[key]).version)
    return data


def profile_fields(w: World) -> dict:
    org = db.session.get(Organisation, w.ids["lead_org"])
    return {"name": "Lead Roofing", "summary": "We fix roofs.", "description": "Since 1999.",
            "capabilities": "roofing\nleadwork", "size": "small", "employees": "12",
            "year_founded": "1999", "website": "https://lead.example.org",
            "contact_name": "Lena", "contact_email": "lena@lead.example.org",
            "phone": "0117 496 0000", "town": "Bath", "postcode": "BA1 1AA", "region": "",
            "lat": "", "lon": "", "service_radius_km": "50",
            "version": str(org.profile.version if org.profile else 0)}


def project_fields(w: World) -> dict:
    project = db.session.get(ProjectExample, w.ids["project"])
    return {"title": "School refurbishment", "description": "Three schools.", "year": "2024",
            "client": "Town Council", "value_amount": "250000", "currency": "GBP",
            "place": "Bristol", "owner_role": "Main contractor",
            "version": str(project.version if project else 1)}


def alliance_fields(w: World) -> dict:
    alliance = db.session.get(Alliance, w.ids["alliance"])
    return {"name": "Severn Alliance", "summary": "Builders together.",
            "description": "Roofs and scaffolds.", "service_area": "Bath and Bristol",
            "version": str(alliance.version)}


def slug_url(template: str):
    return lambda w: template.format(slug=w.ids["lead_slug"], a=w.ids["alliance_slug"], **w.ids)


def url(template: str):
    return lambda w: template.format(**w.ids, **w.secrets)


def org_import_file() -> bytes:
    return (json.dumps({"id": "fz1", "name": "Fuzz Imported Ltd", "cpv_codes": ["45000000"]})
            + "\n").encode()


_fresh = count(1)  # a new address for each registration

SPECS: dict[str, Spec] = {
    # -- site administration
    "admin.import_data": Spec("admin", url("/admin/import"), (ImportForm,), lambda w: {
        "kind": "organisations", "file": (org_import_file(), "orgs.jsonl"), "dry_run": "y",
        "source": "fuzz"}),
    "admin.moderate_organisation": Spec("admin", url("/admin/organisations/{third_org}/hide"),
                                        may_change=frozenset({("organisations", "hidden_at")})),
    "admin.reinstate": Spec("admin", lambda w: f"/admin/users/{w.users['victim'].id}/reinstate",
                            may_change=frozenset({("users", "suspended_at"),
                                                  ("users", "session_generation")})),
    "admin.suspend": Spec("admin", lambda w: f"/admin/users/{w.users['victim'].id}/suspend",
                          may_change=frozenset({("users", "suspended_at"),
                                                ("users", "session_generation")})),
    # -- alliances
    "alliances.accept_invitation": Spec(
        "third", url("/alliance-invitations/{alliance_invitation}/accept"),
        may_change=frozenset({("alliance_invitations", "status")})),
    "alliances.decline_invitation": Spec(
        "third", url("/alliance-invitations/{alliance_invitation}/decline"),
        may_change=frozenset({("alliance_invitations", "status")})),
    "alliances.dissolve": Spec("lead", url("/alliances/{alliance_slug}/dissolve"),
                               may_change=frozenset({("alliances", "status"),
                                                     ("alliance_invitations", "status")})),
    "alliances.edit": Spec("lead", url("/alliances/{alliance_slug}/edit"), (AllianceForm,),
                           alliance_fields),
    "alliances.revoke_invitation": Spec(
        "lead", url("/alliances/{alliance_slug}/invitations/{alliance_invitation}/revoke"),
        may_change=frozenset({("alliance_invitations", "status")})),
    "alliances.invite": Spec("lead", url("/alliances/{alliance_slug}/invite"),
                             (InviteOrganisationForm,),
                             lambda w: {"organisation": "town-council", "message": "Join"},
                             may_change=frozenset({("alliance_invitations", "status")})),
    "alliances.leave": Spec("partner", url("/alliances/{alliance_slug}/leave"),
                            (OrganisationChoiceForm,),
                            lambda w: {"organisation_id": str(w.ids["partner_org"])}),
    "alliances.remove_member": Spec(
        "lead", url("/alliances/{alliance_slug}/members/{alliance_partner_member}/remove")),
    "alliances.change_role": Spec(
        "lead", url("/alliances/{alliance_slug}/members/{alliance_partner_member}/role"),
        (MemberRoleForm,), lambda w: {"role": "lead"},
        may_change=frozenset({("alliance_members", "role")})),
    "alliances.create": Spec("lead", url("/alliances/new"), (CreateAllianceForm,), lambda w: {
        "organisation_id": str(w.ids["lead_org"]), "name": "Second Alliance",
        "summary": "More builders.", "description": "", "service_area": "Bath"}),
    # -- API tokens (HTML forms on the account page)
    "api_tokens.create_token": Spec("lead", url("/account/api-tokens"), (NewApiTokenForm,),
                                    lambda w: {"name": "ci", "scope": "read",
                                               "expires_in_days": "30"}),
    "api_tokens.revoke_token": Spec("lead", url("/account/api-tokens/{api_token}/revoke")),
    # -- accounts
    "auth.change_email": Spec("lead", url("/account/email"), (ChangeEmailForm,), lambda w: {
        "email": "lena.new@example.com", "password": PASSWORD},
        may_change=frozenset({("users", "email"), ("users", "session_generation")})),
    "auth.change_password": Spec("lead", url("/account/password"), (ChangePasswordForm,),
                                 lambda w: {"current_password": PASSWORD,
                                            "new_password": "another long passphrase 77",
                                            "confirm": "another long passphrase 77"},
                                 may_change=frozenset({("users", "password_hash"),
                                                       ("users", "session_generation")})),
    "auth.forgot_password": Spec(None, url("/password/forgot"), (ForgotPasswordForm,),
                                 lambda w: {"email": "lead@example.com"}),
    "auth.login": Spec(None, url("/login"), (LoginForm,), lambda w: {
        "email": "lead@example.com", "password": PASSWORD, "remember": "y"}),
    "auth.logout": Spec("lead", url("/logout"),
                        may_change=frozenset({("users", "session_generation")})),
    "auth.reauthenticate": Spec("lead", url("/reauthenticate"), (ReauthenticateForm,),
                                lambda w: {"password": PASSWORD}),
    "auth.register": Spec(None, url("/register"), (RegisterForm,), lambda w: {
        "email": f"newcomer{next(_fresh)}@example.com", "display_name": "Newcomer",
        "password": "a long new passphrase 9", "confirm": "a long new passphrase 9"}),
    "auth.reset_password": Spec(None, url("/password/reset/{reset}"), (ResetPasswordForm,),
                                lambda w: {"password": "a long reset passphrase 5",
                                           "confirm": "a long reset passphrase 5"},
                                may_change=frozenset({("users", "password_hash"),
                                                      ("users", "session_generation")})),
    # -- bids: the lead's draft, the partner-led bid awaiting approval, the buyer's side
    "bids.add_alliance_members": Spec("lead", url("/bids/{alliance_bid}/members/alliance"),
                                      (VersionForm,),
                                      lambda w: {"version": bid_version(w, "alliance_bid")}),
    "bids.add_member": Spec("lead", url("/bids/{bid}/members"), (AddMemberForm,), lambda w: {
        "version": bid_version(w), "organisation": "third-electrics", "role": "member"}),
    "bids.approve": Spec("third", url("/bids/{awaiting_bid}/approve"), (ApproveForm,),
                         lambda w: {"version": bid_version(w, "awaiting_bid"),
                                    "organisation_id": str(w.ids["third_org"]),
                                    "confirm": "y"}),
    "bids.edit": Spec("lead", url("/bids/{bid}/edit"), (BidForm,), lambda w: {
        "version": bid_version(w), "price": "90000", "currency": "GBP",
        "proposal": "We will fix it.", **bid_lines(w)},
        may_change=frozenset({("bid_members", "role")})),
    "bids.new": Spec("third", url("/tenders/{open_tender}/bids/new"), (StartBidForm,),
                     lambda w: {"party": f"org:{w.ids['third_org']}"}),
    "bids.remove_document": Spec("lead", url("/bids/{bid}/documents/{bid_document}/remove"),
                                 (VersionForm,), lambda w: {"version": bid_version(w)}),
    "bids.remove_member": Spec("lead", url("/bids/{bid}/members/{bid_partner_member}/remove"),
                               (VersionForm,), lambda w: {"version": bid_version(w)}),
    "bids.request_approval": Spec("lead", url("/bids/{bid}/request-approval"), (VersionForm,),
                                  lambda w: {"version": bid_version(w)},
                                  may_change=frozenset({("bids", "state")})),
    "bids.upload_document": Spec("lead", url("/bids/{bid}/documents"), (BidDocumentForm,),
                                 lambda w: {"version": bid_version(w),
                                            "file": (PDF, "method.pdf")}),
    "bids.withdraw": Spec("lead", url("/bids/{bid}/withdraw"),
                          may_change=frozenset({("bids", "state")})),
    "bids.award": Spec("buyer", url("/tenders/{closed_tender}/bids/{submitted_bid}/award"),
                       may_change=frozenset({("bids", "state"), ("tenders", "status"),
                                             ("tenders", "awarded_bid_id")})),
    "bids.disqualify": Spec(
        "buyer", url("/tenders/{closed_tender}/bids/{submitted_bid}/disqualify"),
        (DisqualifyForm,), lambda w: {"reason": "Missing insurance."},
        may_change=frozenset({("bids", "state")})),
    "bids.shortlist": Spec("buyer", url("/tenders/{closed_tender}/bids/{submitted_bid}/shortlist"),
                           may_change=frozenset({("bids", "state")})),
    # -- inbox
    "inbox.open_notification": Spec("lead", url("/inbox/{notification}/open")),
    "inbox.read": Spec("lead", url("/inbox/{notification}/read")),
    "inbox.read_all": Spec("lead", url("/inbox/read-all")),
    # -- organisations and invitations
    "orgs.accept_by_token": Spec("invitee", url("/invitations/{org_token}/accept")),
    "orgs.decline_by_token": Spec("invitee", url("/invitations/{org_token}/decline")),
    "orgs.accept": Spec("invitee", url("/me/invitations/{org_invitation}/accept")),
    "orgs.decline": Spec("invitee", url("/me/invitations/{org_invitation}/decline")),
    "orgs.revoke_invitation": Spec("lead", slug_url("/orgs/{slug}/invitations/"
                                                    "{org_invitation}/revoke")),
    "orgs.leave": Spec("plain", slug_url("/orgs/{slug}/leave")),
    "orgs.remove_member": Spec("lead", slug_url("/orgs/{slug}/members/{plain_membership}/remove")),
    "orgs.change_role": Spec("lead", slug_url("/orgs/{slug}/members/{plain_membership}/role"),
                             (ChangeRoleForm,), lambda w: {"role": "admin"},
                             may_change=frozenset({("memberships", "role")})),
    "orgs.invite": Spec("lead", slug_url("/orgs/{slug}/members/invite"), (InviteMemberForm,),
                        lambda w: {"email": "someone@example.com", "role": "member"}),
    "orgs.create": Spec("lead", url("/orgs/new"), (OrganisationForm,), lambda w: {
        "name": "Fresh Carpentry", "slug": "", "summary": "Doors and stairs."}),
    "orgs.switch": Spec("lead", url("/orgs/switch"), (SwitchOrganisationForm,),
                        lambda w: {"organisation_id": str(w.ids["lead_org"])}),
    # -- profiles
    "profiles.add_cpv": Spec("lead", slug_url("/orgs/{slug}/profile/cpv/add"), (CpvCodeForm,),
                             lambda w: {"code": "45262100", "q": "roof"}),
    "profiles.remove_cpv": Spec("lead", slug_url("/orgs/{slug}/profile/cpv/remove"),
                                (CpvCodeForm,), lambda w: {"code": "45261000", "q": ""}),
    "profiles.certifications": Spec("lead", slug_url("/orgs/{slug}/profile/certifications"),
                                    (CertificationForm,), lambda w: {
                                        "name": "CHAS", "issuer": "CHAS Ltd", "number": "42",
                                        "valid_until": "2099-01-01"}),
    "profiles.edit_certification": Spec(
        "lead", slug_url("/orgs/{slug}/profile/certifications/{cert}/edit"),
        (CertificationForm,), lambda w: {"name": "ISO 9001", "issuer": "BSI", "number": "7",
                                         "valid_until": "2098-01-01"}),
    "profiles.remove_certification": Spec(
        "lead", slug_url("/orgs/{slug}/profile/certifications/{cert}/remove")),
    "profiles.edit": Spec("lead", slug_url("/orgs/{slug}/profile/edit"), (ProfileForm,),
                          profile_fields),
    "profiles.edit_logo": Spec("lead", slug_url("/orgs/{slug}/profile/logo"), (LogoForm,),
                               lambda w: {"logo": (png(), "logo.png")}),
    "profiles.remove_logo": Spec("lead", slug_url("/orgs/{slug}/profile/logo/remove")),
    "profiles.publish": Spec("lead", slug_url("/orgs/{slug}/profile/publish"),
                             may_change=frozenset({("profiles", "published_at")})),
    "profiles.unpublish": Spec("lead", slug_url("/orgs/{slug}/profile/unpublish"),
                               may_change=frozenset({("profiles", "published_at")})),
    # -- projects
    "projects.add_credit": Spec("lead", url("/projects/{project}/credits"), (CreditForm,),
                                lambda w: {"organisation": "town-council",
                                           "role": "Client liaison"}),
    "projects.add_photo": Spec("lead", url("/projects/{project}/photos"), (PhotoForm,),
                               lambda w: {"photo": (png(), "site.png"), "caption": "Roof"}),
    "projects.confirm_credit": Spec(
        "partner", url("/projects/{project}/credits/{partner_credit}/confirm"),
        (AnswerCreditForm,), lambda w: {"version": project_fields(w)["version"]},
        may_change=frozenset({("project_credits", "status")})),
    "projects.reject_credit": Spec(
        "partner", url("/projects/{project}/credits/{partner_credit}/reject"),
        (AnswerCreditForm,), lambda w: {"version": project_fields(w)["version"]},
        may_change=frozenset({("project_credits", "status")})),
    "projects.remove_credit": Spec(
        "lead", url("/projects/{project}/credits/{third_credit}/remove"),
        may_change=frozenset({("project_credits", "status")})),
    "projects.delete": Spec("lead", url("/projects/{project}/delete")),
    "projects.delete_photo": Spec("lead", url("/projects/{project}/photos/{photo}/delete")),
    # "Your organisation's role" on the form is the owner's credit role (free text).
    "projects.edit": Spec("lead", url("/projects/{project}/edit"), (ProjectForm,),
                          project_fields, may_change=frozenset({("project_credits", "role")})),
    "projects.link_alliance": Spec("lead", url("/projects/{project2}/alliance"),
                                   (AllianceLinkForm,),
                                   lambda w: {"alliance_id": str(w.ids["alliance"])},
                                   may_change=frozenset({("project_examples", "alliance_id")})),
    "projects.create": Spec("lead", url("/projects/new"), (CreateProjectForm,), lambda w: {
        **{k: v for k, v in project_fields(w).items() if k != "version"},
        "title": "Library roof", "organisation_id": str(w.ids["lead_org"]),
        "partners-0-organisation": "partner-scaffolds", "partners-0-role": "Scaffolding"}),
    # -- search alerts
    "search.save": Spec("lead", url("/search/save"), (SaveSearchForm,),
                        lambda w: {"name": "Roofs"}, query_forms=(SearchForm,),
                        query=lambda w: {"q": "roof", "kind": "tenders"}),
    "search.delete_saved": Spec("lead", url("/search/saved/{saved_search}/delete")),
    # -- tenders
    "tenders.answer": Spec("buyer", url("/tenders/{open_tender}/questions/{question}/answer"),
                           (AnswerForm,), lambda w: {"answer": "No scaffolding needed."}),
    "tenders.ask": Spec("lead", url("/tenders/{open_tender}/questions"), (QuestionForm,),
                        lambda w: {"question": "Is the site open at weekends?"}),
    "tenders.cancel": Spec("buyer", url("/tenders/{open_tender}/cancel"), (EndTenderForm,),
                           lambda w: {"version": tender_version("open_tender")(w),
                                      "reason": "Budget withdrawn."},
                           may_change=frozenset({("tenders", "status"), ("bids", "state")})),
    "tenders.unsuccessful": Spec("buyer", url("/tenders/{closed_tender}/unsuccessful"),
                                 (EndTenderForm,), lambda w: {
                                     "version": tender_version("closed_tender")(w),
                                     "reason": "No bid met the terms."}, prefix="u",
                                 may_change=frozenset({("tenders", "status"),
                                                       ("bids", "state")})),
    "tenders.create": Spec("buyer", url("/tenders/new"), (TenderForm,),
                           lambda w: tender_fields(w)),
    "tenders.edit": Spec("buyer", url("/tenders/{draft_tender}/edit"), (TenderForm,),
                         lambda w: tender_fields(w, "draft_tender"),
                         may_change=frozenset({("tenders", "deadline")})),
    "tenders.publish": Spec("buyer", url("/tenders/{draft_tender}/publish"),
                            (VersionedActionForm,),
                            lambda w: {"version": tender_version("draft_tender")(w)},
                            may_change=frozenset({("tenders", "status"),
                                                  ("tenders", "published_at")})),
    "tenders.upload_document": Spec("buyer", url("/tenders/{draft_tender}/documents"),
                                    (TenderDocumentForm,), lambda w: {
                                        "version": tender_version("draft_tender")(w),
                                        "file": (PDF, "terms.pdf")}),
    "tenders.delete_tender_document": Spec(
        "buyer", url("/tenders/{draft_tender}/documents/{tender_document}/delete"),
        (VersionedActionForm,), lambda w: {"version": tender_version("draft_tender")(w)}),
    "tenders.post_teaming": Spec("lead", url("/tenders/{open_tender}/teaming"),
                                 (TeamingPostForm,), lambda w: {
                                     "kind": "interested", "looking_for": "scaffolders",
                                     "message": "Happy to lead."}),
    "tenders.contact_teaming": Spec("lead",
                                    url("/tenders/{open_tender}/teaming/{teaming_post}/contact"),
                                    (ContactForm,), lambda w: {"message": "Let us talk."},
                                    prefix=lambda w: f"p{w.ids['teaming_post']}"),
    "tenders.withdraw_teaming": Spec("partner", url("/tenders/{open_tender}/teaming/withdraw")),
}

# The JSON API: bodies are JSON, the actor authenticates with a bearer token.


@dataclass
class ApiSpec:
    secret: str  # a key of World.secrets
    method: str
    url: object
    schema: str  # the OpenAPI requestBody schema name
    baseline: object
    may_change: frozenset = field(default_factory=frozenset)


API_SPECS: dict[str, ApiSpec] = {
    "api.update_organisation": ApiSpec(
        "lead_api", "PATCH", url("/api/v1/organisations/{lead_org}"), "ProfileUpdate",
        lambda w: {"version": int(profile_fields(w)["version"]), "summary": "Roofs.",
                   "capabilities": ["roofing"], "lat": 51.4, "lon": -2.6}),
    "api.create_tender": ApiSpec(
        "buyer_api", "POST", url("/api/v1/tenders"), "TenderCreate",
        lambda w: {"buyer_id": w.ids["buyer_org"], "title": "Boiler replacement",
                   "description": "Two boilers.", "cpv_codes": ["45261000"],
                   "budget_max": 50000, "currency": "GBP",
                   "deadline": (datetime.now(UTC) + timedelta(days=30)).isoformat()}),
    "api.update_tender": ApiSpec(
        "buyer_api", "PATCH", url("/api/v1/tenders/{draft_tender}"), "TenderUpdate",
        lambda w: {"version": int(tender_version("draft_tender")(w)), "title": "New title"},
        may_change=frozenset({("tenders", "deadline")})),
    "api.publish_tender": ApiSpec(
        "buyer_api", "POST", url("/api/v1/tenders/{draft_tender}/publish"), "Version",
        lambda w: {"version": int(tender_version("draft_tender")(w))},
        may_change=frozenset({("tenders", "status"), ("tenders", "published_at")})),
}

for _name in ("api_tokens.create_token", "admin.import_data"):
    SPECS[_name].renders_on_success = True


def privileged_extras(w: World) -> dict[str, str]:
    """Fields no form has, each naming a privilege or another party's object: posted with
    every valid baseline, they must have no effect (SECURITY.md 11)."""
    admin, third = w.users["admin"].id, w.ids["third_org"]
    return {"owner_id": str(admin), "user_id": str(admin), "created_by_id": str(admin),
            "role": "owner", "status": "awarded", "state": "submitted",
            "is_site_admin": "y", "is_buyer": "y", "organisation_id": str(third),
            "buyer_id": str(third), "lead_org_id": str(third), "tender_id": "999999",
            "bid_id": "999999", "alliance_id": "999999", "version": "999999",
            "deadline": "2000-01-01T00:00", "published_at": "2000-01-01T00:00",
            "hidden_at": "2000-01-01T00:00", "suspended_at": "2000-01-01T00:00",
            "awarded_bid_id": str(w.ids["submitted_bid"]), "session_generation": "99",
            "password_hash": "x", "email": "evil@example.com", "id": "999999",
            "slug": "hijacked", "price": "1", "scope": "read-write", "answered_by_id": str(admin)}
