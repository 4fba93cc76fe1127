"""The fuzz checks can fail: each one is shown catching the fault it is there for."""

from datetime import UTC, datetime

import pytest
from flask import Response, flash, redirect
from sqlalchemy import update

from marketplace.extensions import db
from marketplace.models import Membership, OrgInvitation, OrgRole, Tender, User
from tests.bidding import make_tender
from tests.fuzz import snapshot
from tests.fuzz.harness import Stats, check_example, is_rejected, mass_assignment_problems


def test_a_rejected_request_that_wrote_fails_the_check(app, make_user):
    user = make_user()
    before = snapshot.take()
    db.session.execute(update(User).where(User.id == user.id).values(display_name="Changed"))
    db.session.commit()
    with pytest.raises(AssertionError, match=r"users\[.*\]\.display_name"):
        check_example("demo", Stats(), before, Response(status=400), True)


def test_a_rejected_request_that_added_a_row_fails_the_check(app, make_user):
    before = snapshot.take()
    make_user()
    with pytest.raises(AssertionError, match=r"users\[.*\] added"):
        check_example("demo", Stats(), before, Response(status=302), True)


def test_ignored_columns_are_only_the_listed_ones(app, make_user):
    user = make_user()
    before = snapshot.take()
    db.session.execute(update(User).where(User.id == user.id)
                       .values(failed_login_count=3))  # a refused login counts
    db.session.commit()
    check_example("demo", Stats(), before, Response(status=200), True)


def test_a_server_error_fails_the_check(app):
    with pytest.raises(AssertionError, match="500"):
        check_example("demo", Stats(), snapshot.take(), Response(status=500), True)


def test_mass_assignment_is_caught(app, make_user, make_org):
    owner, member = make_user(), make_user()
    org = make_org(owner, members={member: "member"}, is_buyer=True)
    tender = make_tender(org)
    before = snapshot.take()
    db.session.execute(update(User).where(User.id == member.id).values(is_site_admin=True))
    db.session.execute(update(Membership).where(Membership.user_id == member.id)
                       .values(role="owner"))
    db.session.execute(update(Tender).where(Tender.id == tender.id)
                       .values(version=Tender.version + 100))
    db.session.commit()
    problems = mass_assignment_problems(before, snapshot.take(), frozenset())
    assert any("users.is_site_admin" in p for p in problems)
    assert any("memberships.role" in p for p in problems)
    assert any("version jumped" in p for p in problems)
    # A route listed for the column may change it.
    assert not any("memberships.role" in p for p in mass_assignment_problems(
        before, snapshot.take(), frozenset({("memberships", "role")})))


def test_a_new_site_admin_is_caught(app, make_user):
    before = snapshot.take()
    make_user(site_admin=True)
    problems = mass_assignment_problems(before, snapshot.take(), frozenset())
    assert any("is_site_admin" in p for p in problems)


def test_actor_stamps_may_only_name_the_actor(app, make_user, make_org):
    owner, other = make_user(), make_user()
    org = make_org(owner)
    db.session.add(OrgInvitation(organisation_id=org.id, email="x@example.com",
                                 role=OrgRole.MEMBER, token_hash="0" * 64,
                                 invited_by_id=owner.id,
                                 expires_at=datetime(2099, 1, 1, tzinfo=UTC)))
    db.session.commit()
    before = snapshot.take()
    db.session.execute(update(OrgInvitation).values(accepted_by_id=other.id))
    db.session.commit()
    after = snapshot.take()
    assert mass_assignment_problems(before, after, frozenset(), actor_id=other.id) == []
    assert mass_assignment_problems(before, after, frozenset(), actor_id=owner.id) != []


def test_redirects_with_an_error_message_count_as_rejected(app):
    @app.post("/__fuzz_demo/<kind>")
    def demo(kind):
        flash("Nope.", kind)
        return redirect("/")

    # Each example starts with a new session cookie (the harness plants one), so only the
    # response's own messages are seen: a client per request here.
    client = app.test_client()
    assert is_rejected(client, client.post("/__fuzz_demo/error"))
    client = app.test_client()
    assert not is_rejected(client, client.post("/__fuzz_demo/success"))
    assert is_rejected(client, Response(status=200))  # a form shown again
    assert not is_rejected(client, Response(status=201), api=True)
