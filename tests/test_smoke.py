from tests.conftest import html


def test_home_page_invites_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    page = html(response)
    assert page.h1.get_text(strip=True).startswith("Win the tenders")
    assert page.find("a", href="/register")


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
