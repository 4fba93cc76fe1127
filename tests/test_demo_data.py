"""Checks on the shipped reference data and the deterministic demo generator."""

import csv
import datetime as dt
import io
import math
import re
from collections import Counter
from importlib import resources

from marketplace.data.demo_businesses import KEYS, REFERENCE_DATE, demo_businesses, demo_buyers
from marketplace.data.gazetteer import find_town, load_gazetteer
from marketplace.data.passwords import common_passwords, is_common_password

BRISTOL = (51.4545, -2.5879)
EMPLOYEE_LIMITS = {"micro": (1, 9), "small": (10, 49), "medium": (50, 249), "large": (250, 10**6)}


def haversine_km(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def read_data(name):
    return resources.files("marketplace.data").joinpath(name).read_text(encoding="utf-8")


def cpv_codes():
    text = read_data("cpv_2008_en.csv")
    return {row["code8"] for row in csv.DictReader(io.StringIO(text))}


def test_demo_data_is_deterministic():
    assert demo_businesses() == demo_businesses()
    assert demo_buyers() == demo_buyers()


def test_enough_unique_businesses():
    businesses = demo_businesses()
    assert len(businesses) >= 72
    for field in ("key", "name", "contact_email", "website", "phone"):
        values = [b[field] for b in businesses + demo_buyers()]
        assert len(values) == len(set(values)), field
    owner_emails = [b["owner"]["email"] for b in businesses]
    assert len(owner_emails) == len(set(owner_emails))


def test_records_have_the_expected_shape():
    email = re.compile(r"^[a-z0-9.]+@([a-z0-9-]+\.example)$")
    for record in demo_businesses() + demo_buyers():
        assert tuple(record) == KEYS
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", record["key"])
        assert record["website"] == f"https://{record['key']}.example"
        for address in (record["contact_email"], record["owner"]["email"]):
            assert email.match(address).group(1) == f"{record['key']}.example"
        assert re.fullmatch(r"0117 496 0\d{3}|01632 960\d{3}", record["phone"])
        assert record["region"] == "South West"
        assert 1965 <= record["year_founded"] <= 2024
        assert 10 <= record["service_radius_km"] <= 120
        assert len(record["summary"]) <= 160
        assert 2 <= len(record["description"].split("\n\n")) <= 8


def test_business_fields_fit_the_spec():
    for b in demo_businesses():
        assert b["size"] in ("micro", "small", "medium")
        assert 4 <= len(b["capabilities"]) <= 8
        assert all(tag == tag.lower() for tag in b["capabilities"])
        assert 2 <= len(b["cpv_codes"]) <= 6
        assert len(set(b["cpv_codes"])) == len(b["cpv_codes"])
        assert len(b["certifications"]) <= 3
        for cert in b["certifications"]:
            assert set(cert) == {"name", "issuer", "number", "valid_until"}
            dt.date.fromisoformat(cert["valid_until"])


def test_mostly_micro_and_small_with_some_expired_certificates():
    businesses = demo_businesses()
    sizes = Counter(b["size"] for b in businesses)
    assert sizes["micro"] + sizes["small"] >= 0.75 * len(businesses)
    expiries = [
        dt.date.fromisoformat(c["valid_until"]) for b in businesses for c in b["certifications"]
    ]
    expired = sum(day < REFERENCE_DATE for day in expiries)
    assert 1 <= expired < len(expiries) / 4


def test_employees_match_size():
    for record in demo_businesses() + demo_buyers():
        low, high = EMPLOYEE_LIMITS[record["size"]]
        assert low <= record["employees"] <= high, record["key"]


def test_every_cpv_code_is_in_the_shipped_vocabulary():
    known = cpv_codes()
    assert len(known) == 9454
    used = {code for b in demo_businesses() for code in b["cpv_codes"]}
    assert used <= known, sorted(used - known)


def test_towns_and_coordinates():
    businesses = demo_businesses()
    for record in businesses + demo_buyers():
        town = find_town(record["town"])
        assert town is not None, record["town"]
        assert record["postcode"].startswith(town.postcode_district + " ")
        assert re.fullmatch(r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}", record["postcode"])
        assert haversine_km((record["lat"], record["lon"]), (town.lat, town.lon)) < 2
        assert haversine_km((record["lat"], record["lon"]), BRISTOL) < 80
    towns = Counter(b["town"] for b in businesses)
    assert len(towns) >= 20
    assert {name for name, _ in towns.most_common(2)} == {"Bristol", "Bath"}


def test_gazetteer():
    towns = load_gazetteer()
    assert len(towns) >= 55
    assert len({t.name.lower() for t in towns}) == len(towns)
    for town in towns:
        assert town.region == "South West"
        assert haversine_km((town.lat, town.lon), BRISTOL) < 80, town.name
    bath = find_town("bath")
    assert bath is not None and bath.name == "Bath" and bath.postcode_district == "BA1"
    assert find_town("  WESTON-SUPER-MARE ").county == "North Somerset"
    assert find_town("Atlantis") is None


def test_common_passwords():
    lines = read_data("common_passwords.txt").splitlines()
    assert len(lines) == 3000 == len(set(lines)) == len(common_passwords())
    assert lines[:2] == ["123456", "password"]
    assert all(line == line.strip().lower() and line for line in lines)
    assert is_common_password("password")
    assert is_common_password("123456")
    assert is_common_password("PassWord")
    assert not is_common_password("correct horse battery staple under the old mill bridge")
