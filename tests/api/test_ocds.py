"""OCDS 1.1 export: the feed validates against the release-package schema with the bids
extension applied, and says nothing of bids before the deadline."""

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from marketplace.bids import services
from marketplace.extensions import db as _db
from marketplace.models import TenderStatus
from tests.bidding import acting, approve_all, build_team, make_tender, start_bid

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "ocds"
MARKER = "platypus-sealed-proposal-marker"


def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def test_merge_patch_follows_rfc_7386():
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}},
                       {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1]}, {"a": [2]}) == {"a": [2]}


@pytest.fixture(scope="module")
def package_validator():
    load = lambda name: json.loads((SCHEMAS / name).read_text())  # noqa: E731
    release_schema = merge_patch(load("release-schema.json"),
                                 load("bids-extension-release-schema.json"))
    package_schema = load("release-package-schema.json")
    release_uri = package_schema["properties"]["releases"]["items"]["$ref"]
    registry = Registry().with_resource(
        release_uri, Resource.from_contents(release_schema, default_specification=DRAFT4))
    return Draft4Validator(package_schema, registry=registry,
                           format_checker=Draft4Validator.FORMAT_CHECKER)


def assert_valid(validator, package):
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


@pytest.fixture
def tendered(app, db, make_user, make_org):
    deadline = datetime.now(UTC) + timedelta(hours=2)
    team = build_team(app, make_user, make_org, partners=2, deadline=deadline)
    bid = start_bid(app, team, price=Decimal("91234.50"), proposal=f"Plan: {MARKER}")
    approve_all(app, team, bid)
    make_tender(team.buyer, title="A draft nobody sees", status=TenderStatus.DRAFT)
    return team, bid, deadline


def feed(client, **params):
    response = client.get("/ocds/releases.json", query_string=params)
    assert response.status_code == 200
    return response.get_json(), response.get_data(as_text=True)


def test_before_the_deadline_nothing_of_the_bids(client, app, tendered, package_validator):
    team, _bid, _ = tendered
    package, text = feed(client)
    assert_valid(package_validator, package)
    assert package["version"] == "1.1" and package["extensions"]
    assert package["publisher"]["name"] and package["uri"] and package["publishedDate"]
    [release] = package["releases"]  # the draft is not exported
    assert release["ocid"].endswith(f"-{team.tender.id}")
    assert release["tender"]["items"][0]["classification"] == {
        "scheme": "CPV", "id": "45261000",
        "description": release["tender"]["items"][0]["classification"]["description"]}
    assert release["tender"]["tenderPeriod"]["endDate"]
    assert release["tender"]["value"] == {"amount": 100000.0, "currency": "GBP"}
    assert "bids" not in release and "awards" not in release
    assert "numberOfTenderers" not in release["tender"]
    assert [p["roles"] for p in release["parties"]] == [["buyer"]]
    for secret in (MARKER, "91234", team.lead.name, team.partners[0].name):
        assert secret not in text
    api = client.get(f"/api/v1/tenders/{team.tender.id}").get_data(as_text=True)
    assert MARKER not in api and "91234" not in api and team.lead.name not in api


def test_after_the_deadline_bids_and_award(client, app, tendered, package_validator):
    team, bid, deadline = tendered
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        package, text = feed(client)
        assert_valid(package_validator, package)
        [release] = package["releases"]
        [detail] = release["bids"]["details"]
        names = [t["name"] for t in detail["tenderers"]]
        assert names[0] == team.lead.name  # the lead first, and named
        assert detail["leadTenderer"]["name"] == team.lead.name
        assert set(names) == {team.lead.name, *(p.name for p in team.partners)}
        assert detail["value"] == {"amount": 91234.5, "currency": "GBP"}
        assert detail["status"] == "valid"
        assert MARKER not in text  # the proposal text is never exported
        assert "awards" not in release

        with acting(app, team.buyer_owner):
            services.award(team.buyer_owner, team.tender.id, bid.id, datetime.now(UTC))
            _db.session.commit()
        package, _ = feed(client)
        assert_valid(package_validator, package)
        [release] = package["releases"]
        [award] = release["awards"]
        assert {s["name"] for s in award["suppliers"]} == set(names)
        assert award["value"]["amount"] == 91234.5 and "award" in release["tag"]
        roles = {p["name"]: p["roles"] for p in release["parties"]}
        assert all("supplier" in roles[n] and "tenderer" in roles[n] for n in names)


def test_feed_is_paginated_with_links_next(client, app, make_org, package_validator):
    buyer = make_org(name="Big Buyer", is_buyer=True)
    tenders = [make_tender(buyer, title=f"Job {i}") for i in range(5)]
    seen, url = [], "/ocds/releases.json?limit=2"
    while url:
        package = client.get(url).get_json()
        assert_valid(package_validator, package)
        seen += [r["ocid"] for r in package["releases"]]
        url = package.get("links", {}).get("next")
    assert len(seen) == len(set(seen)) == len(tenders)
    assert client.get("/ocds/releases.json?limit=0").status_code == 422
    assert client.get("/ocds/releases.json?cursor=nope").status_code == 422


def test_ocid_prefix_is_configurable(app, client, make_org):
    app.config["OCDS_OCID_PREFIX"] = "ocds-abc123"
    tender = make_tender(make_org(is_buyer=True))
    package = client.get("/ocds/releases.json").get_json()
    assert package["releases"][0]["ocid"] == f"ocds-abc123-{tender.id}"


def test_the_validator_is_not_a_rubber_stamp(client, app, tendered, package_validator):
    package, _ = feed(client)
    broken = copy.deepcopy(package)
    broken["releases"][0]["bids"] = {"details": [{"id": "1", "status": "sealed"}]}
    assert list(package_validator.iter_errors(broken))
    broken = copy.deepcopy(package)
    del broken["releases"][0]["ocid"]
    assert list(package_validator.iter_errors(broken))
