"""Server errors the fuzzing found, pinned down one by one."""

from datetime import UTC, datetime

import pytest

from marketplace.api import services as api_services
from marketplace.extensions import db


def test_deeply_nested_json_body_is_400_not_500(client, make_user, make_org):
    # json.loads raises RecursionError (not ValueError) past Python's recursion limit, which
    # get_json(silent=True) does not catch.
    owner = make_user()
    make_org(owner, is_buyer=True)
    _token, secret = api_services.create_token(owner, "t", "read-write", None,
                                              datetime.now(UTC))
    db.session.commit()
    response = client.post("/api/v1/tenders", data=b"[" * 100_000,
                           headers={"Authorization": f"Bearer {secret}",
                                    "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"]


@pytest.mark.parametrize("url", ["/alliances", "/projects", "/admin/users",
                                 "/admin/organisations", "/admin/mail", "/inbox"])
@pytest.mark.parametrize("page", ["184467440737095518", "99999999999999999999999", "\u00b9"])
def test_absurd_page_numbers_are_not_500(client, make_user, login_as, url, page):
    # A huge page overflowed the SQL OFFSET (OverflowError on SQLite, out of range on
    # PostgreSQL); "¹" passed str.isdigit() and then failed int().
    login_as(make_user(site_admin=True))
    assert client.get(url, query_string={"page": page}).status_code in (200, 404)


def test_login_with_a_nul_in_the_address_is_refused_not_500(client, make_user):
    # PostgreSQL refuses NUL in text parameters (DataError), even in a WHERE clause.
    make_user("nul@example.com")
    response = client.post("/login", data={"email": "nul@example.com\x00",
                                           "password": "whatever it is 1"})
    assert response.status_code == 200
    assert "is not right" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/admin/users", "/admin/organisations"])
def test_admin_search_with_a_nul_is_not_500(client, make_user, login_as, url):
    # PostgreSQL refuses NUL in text parameters (DataError), LIKE patterns included.
    login_as(make_user(site_admin=True))
    assert client.get(url, query_string={"q": "lead\x00"}).status_code == 200
