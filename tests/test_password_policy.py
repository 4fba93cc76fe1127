"""The password rules at their edges (SECURITY.md 1), beyond test_auth.py's samples: the whole
list of 3,000 common passwords, exactly 128 characters (ASCII and four-byte Unicode) kept
whole, and the rehash at login from parameters that are outdated in any direction."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from marketplace.data.passwords import common_passwords
from marketplace.models import User
from marketplace.passwords import password_problems
from tests.conftest import FAST_HASH, PASSWORD, form_errors, log_in

COMMON = sorted(common_passwords())
COMMON_MESSAGE = "This password is one of the most common ones; choose another."


def register(client, password, email="new@example.com"):
    return client.post("/register", data={"email": email, "display_name": "New Person",
                                          "password": password, "confirm": password})


def stored(db, email="new@example.com") -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_the_list_has_3000_entries_and_every_one_is_refused_as_common(app):
    assert len(COMMON) == 3000
    for password in COMMON:
        for variant in (password, password.upper(), password.title()):
            assert COMMON_MESSAGE in password_problems(variant), variant


def test_every_common_password_long_enough_to_pass_the_length_rule_is_refused_by_the_form(
        client, db):
    long_enough = [p for p in COMMON if len(p) >= 12]
    assert long_enough, "the length rule alone would hide the list"
    for password in long_enough:
        response = register(client, password)
        assert response.status_code == 200, password
        assert any("most common" in e for e in form_errors(response)), password
    assert stored(db) is None


@pytest.mark.parametrize("unit", ["a", "é", "日", "🔐"])
def test_128_characters_are_accepted_and_every_one_counts(client, app, db, unit):
    password = unit * 127 + "Z"
    assert len(password) == 128
    assert register(client, password).status_code == 302
    assert stored(db) is not None
    for wrong in (unit * 127 + "Y", unit * 127, "Y" + unit * 126 + "Z", unit * 128):
        assert log_in(app.test_client(), "new@example.com", wrong).status_code == 200, (
            "a changed or shortened password must not log in")
    assert log_in(app.test_client(), "new@example.com", password).status_code == 302


def test_129_characters_are_refused_even_in_unicode(client, db):
    response = register(client, "🔐" * 129)
    assert response.status_code == 200
    assert any("at most 128" in e for e in form_errors(response))
    assert stored(db) is None


def test_a_long_login_attempt_is_refused_without_error(client, make_user):
    make_user("me@example.com")
    for password in ("x" * 1025, "x" * 100_000):
        response = log_in(client, "me@example.com", password)
        assert response.status_code in (200, 413)


@pytest.mark.parametrize("old", [
    {"time_cost": 1, "memory_cost": 512, "parallelism": 1},   # weaker than configured
    {"time_cost": 3, "memory_cost": 2048, "parallelism": 2},  # merely different
])
def test_any_outdated_hash_is_replaced_at_login_and_still_works(client, db, make_user, old):
    user = make_user("old@example.com")
    user.password_hash = PasswordHasher(**old).hash(PASSWORD)
    db.session.commit()

    assert log_in(client, "old@example.com").status_code == 302
    new_hash = stored(db, "old@example.com").password_hash
    expected = (f"$argon2id$v=19$m={FAST_HASH['memory_cost']},t={FAST_HASH['time_cost']},"
                f"p={FAST_HASH['parallelism']}$")
    assert new_hash.startswith(expected)
    assert log_in(client.application.test_client(), "old@example.com").status_code == 302


def test_a_current_hash_is_left_alone(client, db, make_user):
    user = make_user("me@example.com")
    before = user.password_hash
    log_in(client, "me@example.com")
    assert stored(db, "me@example.com").password_hash == before


def test_a_failed_login_never_rehashes(client, db, make_user):
    user = make_user("old@example.com")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(
        PASSWORD)
    db.session.commit()
    before = user.password_hash
    log_in(client, "old@example.com", "not the right passphrase at all")
    assert stored(db, "old@example.com").password_hash == before
