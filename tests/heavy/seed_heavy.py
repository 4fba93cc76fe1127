"""Schema and a small seed for the heavy tier, in the database the environment names.

Run as ``python -m tests.heavy.seed_heavy N [--tenders T --team K]`` with DATABASE_URL and
GUILD_INSTANCE_PATH set. It creates N writer accounts, each owning an organisation, and
prints one JSON line: ``{"accounts": [...], "tenders": [...], "teams": [...],
"organisations": <count>}``. With ``--tenders``, a buyer organisation publishes T open
tenders; with ``--team K``, the writers are grouped K by K into alliances (writer ``K*g`` leads
alliance ``g``, the next K-1 writers are its members), so that the lead can start a joint bid
for the alliance and the K member organisations approve it. The schema comes from the models
(``create_all``): the tests must not depend on migrations that the lead generates at
integration.
"""

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    Organisation,
    Tender,
    TenderCpvCode,
    TenderStatus,
    User,
)
from marketplace.orgs.services import create_organisation
from marketplace.passwords import hash_password


def main(writers: int, tenders: int = 0, team: int = 0) -> None:
    password = os.environ["HEAVY_PASSWORD"]
    app = create_app()
    with app.app_context():
        db.create_all()
        from marketplace.cpv import load_cpv_codes

        load_cpv_codes()
        password_hash = hash_password(password)  # one hash: the same password for everyone
        accounts, orgs = [], []
        for n in range(writers):
            user = User(email=f"writer{n}@heavy.example", display_name=f"Writer {n}",
                        password_hash=password_hash)
            db.session.add(user)
            org = create_organisation(user, f"Heavy Writer Firm {n}", "Seeded for the drill",
                                      f"heavy-writer-{n}")
            orgs.append(org)
            accounts.append({"email": user.email, "slug": org.slug, "org_id": org.id})
        tender_ids = _tenders(password_hash, tenders) if tenders else []
        teams = []
        if team > 1:
            for g in range(writers // team):
                lead, *members = orgs[g * team:(g + 1) * team]
                alliance = Alliance(name=f"Heavy Alliance {g}", slug=f"heavy-alliance-{g}",
                                    summary="Seeded for the drill")
                alliance.members = [
                    AllianceMember(organisation_id=lead.id, role=AllianceRole.LEAD),
                    *(AllianceMember(organisation_id=m.id, role=AllianceRole.MEMBER)
                      for m in members)]
                db.session.add(alliance)
                db.session.flush()
                teams.append({"alliance_id": alliance.id, "lead_org_id": lead.id,
                              "writers": list(range(g * team, (g + 1) * team))})
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Organisation))
    json.dump({"accounts": accounts, "tenders": tender_ids, "teams": teams,
               "organisations": count}, sys.stdout)


def _tenders(password_hash: str, count: int) -> list[int]:
    """A buyer (not one of the writers) with ``count`` open tenders, deadline in 10 days."""
    buyer_user = User(email="buyer@heavy.example", display_name="Heavy Buyer",
                      password_hash=password_hash)
    db.session.add(buyer_user)
    buyer = create_organisation(buyer_user, "Heavy County Council", "Seeded buyer",
                                "heavy-county-council", is_buyer=True)
    now = datetime.now(UTC)
    tenders = []
    for i in range(count):
        tender = Tender(buyer=buyer, title=f"Heavy drill works lot {i}",
                        description="Roof and façade repairs at county schools.",
                        status=TenderStatus.OPEN, currency="GBP",
                        deadline=now + timedelta(days=10), published_at=now,
                        budget_max=Decimal("500000"))
        tender.cpv_codes = [TenderCpvCode(code="45261000")]
        db.session.add(tender)
        tenders.append(tender)
    db.session.flush()
    return [t.id for t in tenders]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("writers", type=int)
    parser.add_argument("--tenders", type=int, default=0)
    parser.add_argument("--team", type=int, default=0)
    args = parser.parse_args()
    main(args.writers, args.tenders, args.team)
