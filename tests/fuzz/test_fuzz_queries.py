"""Search and list queries of any shape (SECURITY.md 16): the search page, the API search,
the business directory, the tender list and every other page that reads its query string,
driven by Hypothesis with hostile values for their form fields and parameters (Whoosh syntax,
NUL and control characters, invalid UTF-8, huge numbers, repeated and unknown parameters).

Per example: no response >= 500, and the database is unchanged (a GET changes nothing). The
search index is built from the fuzz world first, so queries reach the Whoosh parser.
"""

import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import User
from marketplace.profiles.forms import CpvSearchForm, DirectoryForm
from marketplace.search.forms import SearchForm
from marketplace.tenders.forms import TenderSearchForm
from tests.fuzz import snapshot
from tests.fuzz.harness import FUZZ_EXAMPLES, FUZZ_SETTINGS, Stats, check_example, short
from tests.fuzz.strategies import form_data, urlencoded
from tests.fuzz.test_fuzz_forms import form_fields
from tests.fuzz.world import build_world, log_in

# Parameters some page reads without a form, and paging/API parameters.
LOOSE = {"page": "IntegerField", "limit": "IntegerField", "cursor": "StringField",
         "q": "StringField", "kind": "StringField", "sort": "StringField",
         "status": "StringField", "buyer_id": "IntegerField", "tz": "StringField",
         "show": "StringField", "next": "StringField", "invite": "StringField",
         "member": "StringField", "within": "IntegerField", "near": "StringField"}


@dataclass
class Target:
    actor: str | None
    url: object
    forms: tuple = ()
    baseline: dict | None = None
    api: bool = False


TARGETS = {
    "search": Target(None, lambda w: "/search", (SearchForm,), {"q": "roof"}),
    "search-logged-in": Target("lead", lambda w: "/search", (SearchForm,),
                               {"q": "roof", "kind": "tenders"}),
    "api-search": Target("lead", lambda w: "/api/v1/search", baseline={"q": "roof"}, api=True),
    "directory": Target(None, lambda w: "/businesses", (DirectoryForm,), {"q": "roofing"}),
    "tender-list": Target("lead", lambda w: "/tenders", (TenderSearchForm,), {"q": "roof"}),
    "api-tenders": Target("buyer", lambda w: "/api/v1/tenders", baseline={"limit": "2"},
                          api=True),
    "api-organisations": Target(None, lambda w: "/api/v1/organisations",
                                baseline={"limit": "2"}, api=True),
    "api-matches": Target("buyer", lambda w: f"/api/v1/tenders/{w.ids['open_tender']}/matches",
                          baseline={"limit": "3"}, api=True),
    "cpv-search": Target("lead", lambda w: "/cpv/search", (CpvSearchForm,), {"q": "roof"}),
    "cpv-picker": Target("lead", lambda w: f"/orgs/{w.ids['lead_slug']}/profile/cpv",
                         (CpvSearchForm,), {"q": "452"}),
    "tender-cpv-lookup": Target(None, lambda w: "/tenders/cpv-codes", baseline={"q": "roof"}),
    "tender-page": Target("lead", lambda w: f"/tenders/{w.ids['open_tender']}",
                          baseline={"tz": "Europe/London"}),
    "admin-users": Target("admin", lambda w: "/admin/users", baseline={"q": "lead"}),
    "inbox": Target("lead", lambda w: "/inbox", baseline={"show": "unread"}),
    "bid-edit": Target("lead", lambda w: f"/bids/{w.ids['bid']}/edit",
                       baseline={"member": "third-electrics"}),
}


def api_parameters(client, url: str) -> dict[str, tuple[str, list[str]]]:
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
        if "get" in operations and re.match(pattern, url):
            return {p["name"]: ("IntegerField" if p["schema"].get("type") == "integer"
                                else "StringField", [str(v) for v in p["schema"].get("enum", [])])
                    for p in operations["get"].get("parameters", []) if p["in"] == "query"}
    raise AssertionError(f"{url} is not in the OpenAPI document")


@pytest.fixture
def app_config(tmp_path):
    return {"SEARCH_INDEX_DIR": str(tmp_path / "index")}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_query(app, make_user, make_org, index_now, name):
    target = TARGETS[name]
    world = build_world(app, make_user, make_org)
    index_now()
    client = app.test_client()
    if target.api:  # the documented parameters (an unknown one is a plain 422)
        fields = api_parameters(client, target.url(world))
    else:
        fields = {k: (v, []) for k, v in LOOSE.items()}
        fields.update(form_fields(app, target.forms))
    actor_id = world.users[target.actor].id if target.actor else None
    headers = ({"Authorization": f"Bearer {world.secrets[target.actor + '_api']}"}
               if target.api and target.actor else {})
    stats = Stats()
    state = {}

    @FUZZ_SETTINGS
    @given(data=st.data())
    def example(data):
        if not target.api:
            log_in(client, db.session.get(User, actor_id) if actor_id else None)
        url = target.url(world)
        db.session.rollback()
        before = state.pop("snapshot", None) or snapshot.take()
        params = data.draw(form_data(fields, target.baseline or {}), label="query")
        response = client.get(url + "?" + urlencoded(params.items(multi=True)),
                              headers=headers)
        # A GET is never allowed to write: checked like a rejected form.
        state["snapshot"] = check_example(name, stats, before, response, True,
                                          request_repr=short(params))

    example()
    print(stats.line(name))
    assert stats.examples >= FUZZ_EXAMPLES


# -- every other page: its query string fuzzed with the parameters any page reads ------------

GET_EXAMPLES = max(1, FUZZ_EXAMPLES // 4)
SKIP = {"static", "api.openapi_document", "api.docs"}  # files and the fixed API document


def get_url(rule, w) -> tuple[str, str | None]:
    """The rule's URL in the fuzz world and the actor who may see it."""
    path, ids = rule.rule, w.ids
    by_kind = {
        "slug": ids["alliance_slug"] if path.startswith("/alliances") else ids["lead_slug"],
        "tender_id": ids["open_tender"], "bid_id": ids["bid"], "project_id": ids["project"],
        "photo_id": ids["photo"], "cert_id": ids["cert"], "org_id": ids["lead_org"],
        "alliance_id": ids["alliance"], "message_id": 1, "name": "logo.png",
        "document_id": ids["bid_document"], "token": w.secrets["org_token"]}
    actor = "lead"
    if path.startswith("/admin"):
        actor = "admin"
    elif path.startswith("/tenders/<int:tender_id>") and path != "/tenders/<int:tender_id>":
        actor = "buyer"
        by_kind["tender_id"] = ids["draft_tender"]
        by_kind["document_id"] = ids["tender_document"]
        if "/bids" in path:
            by_kind.update(tender_id=ids["closed_tender"], bid_id=ids["submitted_bid"])
    elif path.endswith("/approve") or path.endswith("/receipt"):
        actor, by_kind["bid_id"] = "third", ids["awaiting_bid"]
    elif path.startswith("/invitations"):
        actor = "invitee"
    elif path.startswith("/password/reset"):
        actor, by_kind["token"] = None, w.secrets["reset"]
    values = {name: by_kind[name] for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1], actor


def test_fuzz_every_get_route(app, make_user, make_org):
    world = build_world(app, make_user, make_org)
    client = app.test_client()
    fields = {k: (v, []) for k, v in LOOSE.items()}
    rules = [r for r in app.url_map.iter_rules()
             if "GET" in r.methods and r.endpoint not in SKIP]
    assert len(rules) > 40
    state = {}

    def fuzz(url: str, actor_id: int | None, name: str) -> Stats:
        stats = Stats()

        @settings(FUZZ_SETTINGS, max_examples=GET_EXAMPLES)
        @given(data=st.data())
        def example(data):
            client._cookies.clear()
            log_in(client, db.session.get(User, actor_id) if actor_id else None)
            db.session.rollback()
            before = state.pop("snapshot", None) or snapshot.take()
            params = data.draw(form_data(fields, {}), label="query")
            response = client.get(url + "?" + urlencoded(params.items(multi=True)))
            state["snapshot"] = check_example(name, stats, before, response, True,
                                              request_repr=short(params))

        example()
        return stats

    for rule in sorted(rules, key=lambda r: r.rule):
        url, actor = get_url(rule, world)
        stats = fuzz(url, world.users[actor].id if actor else None, rule.endpoint)
        print(stats.line(f"GET {url}"))
        assert stats.examples >= GET_EXAMPLES
