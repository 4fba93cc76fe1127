"""The approver is told what their own approval did, not what a later one did.

Found by tests/heavy/test_gunicorn_concurrency.py: with 5 members approving at once, two
responses said "That was the last approval: the bid is submitted" for one submission. The
view read ``bid.state`` after the commit, which reloads the row and can already show the
submission made by another member's approval committed in between.
"""

from sqlalchemy import event, func, select, update

from marketplace.extensions import db
from marketplace.models import Bid, BidApproval, BidState
from tests.bidding import build_team, start_bid


def test_not_last_approval_is_not_told_it_submitted(app, client, make_user, make_org,
                                                    login_as):
    team = build_team(app, make_user, make_org, partners=1)
    bid = start_bid(app, team)
    bid_id, version, lead_org_id = bid.id, bid.version, team.lead.id
    login_as(team.lead_owner)

    done = []

    def another_member_submits(session, transaction):
        # Right after this approval's commit, another transaction submits the bid, as the
        # partner's concurrent approval would.
        if transaction.parent is not None or done:
            return
        with db.engine.begin() as conn:
            if not conn.scalar(select(func.count()).select_from(BidApproval).where(
                    BidApproval.bid_id == bid_id, BidApproval.version == version)):
                return  # a transaction before the approval's
            done.append(True)
            conn.execute(update(Bid).where(Bid.id == bid_id)
                         .values(state=BidState.SUBMITTED.value))

    db.session.remove()  # the request starts its own transaction, as in production
    event.listen(db.session, "after_transaction_end", another_member_submits)
    try:
        r = client.post(f"/bids/{bid_id}/approve",
                        data={"version": version, "organisation_id": lead_org_id,
                              "confirm": "y"})
    finally:
        event.remove(db.session, "after_transaction_end", another_member_submits)
    assert done, "the simulated concurrent submission did not run"
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/bids/{bid_id}")  # not the receipt
    with client.session_transaction() as session:
        assert session["_flashes"][-1] == ("success", f"Approved version {version}.")
