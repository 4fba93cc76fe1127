"""Schema and a small seed for the heavy tier, in the database the environment names.

Run as ``python -m tests.heavy.seed_heavy N`` with DATABASE_URL and GUILD_INSTANCE_PATH set;
prints the writers' accounts as JSON. The schema comes from the models (``create_all``): the
tests must not depend on migrations that the lead generates at integration.
"""

import json
import os
import sys

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import User
from marketplace.orgs.services import create_organisation
from marketplace.passwords import hash_password


def main(writers: int) -> None:
    password = os.environ["HEAVY_PASSWORD"]
    app = create_app()
    with app.app_context():
        db.create_all()
        from marketplace.cpv import load_cpv_codes

        load_cpv_codes()
        password_hash = hash_password(password)  # one hash: the same password for everyone
        accounts = []
        for n in range(writers):
            user = User(email=f"writer{n}@heavy.example", display_name=f"Writer {n}",
                        password_hash=password_hash)
            db.session.add(user)
            org = create_organisation(user, f"Heavy Writer Firm {n}", "Seeded for the drill",
                                      f"heavy-writer-{n}")
            accounts.append({"email": user.email, "slug": org.slug})
        db.session.commit()
    json.dump(accounts, sys.stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]))
