"""Bulk import of organisations and tenders (marketplace/importers, ``flask import``)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.errors import Conflict
from marketplace.importers import import_organisations, import_tenders
from marketplace.importers.ownership import SYSTEM_EMAIL, SlugAllocator
from marketplace.importers.report import ImportReport, Problem
from marketplace.models import (
    Membership,
    Organisation,
    OrgRole,
    Profile,
    SearchOutbox,
    Tender,
    TenderStatus,
    User,
)
from marketplace.passwords import verify_password

NOW = datetime.now(UTC)
FUTURE = (NOW + timedelta(days=20)).replace(microsecond=0)
PAST = (NOW - timedelta(days=20)).replace(microsecond=0)


def write_jsonl(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def org(n: int, **fields) -> dict:
    return {"id": f"firm-{n}", "name": f"Firm {n} Ltd", **fields}


def run_orgs(path: Path, **options) -> ImportReport:
    with path.open("rb") as stream:
        return import_organisations(stream, filename=path.name, **options)


def run_tenders(path: Path, **options) -> ImportReport:
    with path.open("rb") as stream:
        return import_tenders(stream, filename=path.name, **options)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def outbox(db, kind: str) -> list[int]:
    return list(db.session.scalars(select(SearchOutbox.object_id)
                                   .where(SearchOutbox.kind == kind)
                                   .order_by(SearchOutbox.id)))


def imported(db, external_id: str, source: str = "import") -> Organisation:
    return db.session.scalar(select(Organisation).where(
        Organisation.external_source == source, Organisation.external_id == external_id))


def problems(report: ImportReport) -> set[tuple[int | None, str]]:
    return {(p.line, p.field) for p in report.problems}


# --- organisations: JSON Lines -------------------------------------------------------------

def test_jsonl_creates_published_profiles_owned_by_the_system_account(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [
        org(1, description="Roofs and gutters.", capabilities=["Roofing", "roofing", "Gutters"],
            cpv_codes=["45261000", "45000000-7"], size="Small", town="Bristol",
            postcode="BS1 4DJ", region="South West", lat=51.45, lon=-2.59,
            service_radius_km=40, website="www.firm1.example"),
        {"id": 2, "name": "  Minimal   Co  "},
    ])

    report = run_orgs(path)

    assert report.ok, report.lines()
    assert (report.created, report.updated, report.unchanged, report.failed) == (2, 0, 0, 0)
    first = imported(db, "firm-1")
    profile = first.profile
    assert profile.is_published
    assert profile.description == "Roofs and gutters."
    assert [c.tag for c in profile.capabilities] == ["Gutters", "Roofing"]
    assert {c.code for c in profile.cpv_codes} == {"45261000", "45000000"}
    assert (profile.size.value, profile.town, profile.postcode, profile.region) == (
        "small", "Bristol", "BS1 4DJ", "South West")
    assert (profile.lat, profile.lon, profile.service_radius_km) == (51.45, -2.59, 40)
    assert profile.website == "https://www.firm1.example"
    assert imported(db, "2").name == "Minimal Co"
    owners = [m.user for m in first.memberships if m.role == OrgRole.OWNER]
    assert [u.email for u in owners] == [SYSTEM_EMAIL]
    assert owners[0].password_hash == "!"
    assert not verify_password(owners[0].password_hash, "!")
    assert not verify_password(owners[0].password_hash, "")


def test_outbox_rows_are_written_for_created_organisations(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1), org(2), org(3)])
    run_orgs(path)
    ids = {imported(db, f"firm-{n}").id for n in (1, 2, 3)}
    assert sorted(outbox(db, "organisation")) == sorted(ids)


def test_second_identical_import_changes_nothing(db, tmp_path):
    records = [org(n, description=f"About {n}", capabilities=["a", "b"], cpv_codes=["45000000"],
                   lat=50.0 + n / 7, lon=-1.0 / 3, size="micro") for n in range(1, 6)]
    path = write_jsonl(tmp_path / "orgs.jsonl", records)
    run_orgs(path)
    versions = dict(db.session.execute(select(Profile.id, Profile.version)).all())
    outbox_before = count(db, SearchOutbox)
    db.session.expire_all()

    again = run_orgs(path)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert count(db, Organisation) == 5
    assert count(db, SearchOutbox) == outbox_before
    db.session.expire_all()
    assert dict(db.session.execute(select(Profile.id, Profile.version)).all()) == versions


def test_changed_records_are_updated_in_place(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl",
                       [org(1, capabilities=["a", "b"], town="Bath"), org(2)])
    run_orgs(path)
    first = imported(db, "firm-1")
    version, outbox_before = first.profile.version, count(db, SearchOutbox)
    write_jsonl(path, [org(1, name="Firm One", capabilities=["b", "c"]), org(2)])

    report = run_orgs(path)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    db.session.expire_all()
    first = imported(db, "firm-1")
    assert first.name == "Firm One"
    assert [c.tag for c in first.profile.capabilities] == ["b", "c"]
    assert first.profile.town is None  # the file is the truth for unclaimed entries
    assert first.profile.version == version + 1
    assert outbox(db, "organisation")[outbox_before:] == [first.id]
    assert count(db, Organisation) == 2


def test_claimed_organisations_are_not_overwritten(db, tmp_path, make_user):
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1, description="old")])
    run_orgs(path)
    claimant = make_user()
    entry = imported(db, "firm-1")
    entry.memberships.append(Membership(user=claimant, role=OrgRole.OWNER))
    db.session.commit()
    write_jsonl(path, [org(1, description="new")])

    report = run_orgs(path)

    assert (report.updated, report.skipped) == (0, 1)
    assert "claimed" in report.notices[0].reason
    db.session.expire_all()
    assert imported(db, "firm-1").profile.description == "old"


def test_same_id_in_another_source_is_another_organisation(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1)])
    run_orgs(path, source="chamber-a")
    run_orgs(path, source="chamber-b")
    assert count(db, Organisation) == 2
    assert imported(db, "firm-1", "chamber-a").slug != imported(db, "firm-1", "chamber-b").slug


# --- validation and the per-line report ----------------------------------------------------

def test_each_bad_line_is_reported_with_line_number_and_field(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [
        org(1),                                             # 1 fine
        '{"id": "x", "name": ',                             # 2 bad JSON
        {"id": "no-name"},                                  # 3 missing name
        {"name": "No id"},                                  # 4 missing id
        org(5, cpv_codes=["12345678"]),                     # 5 not in the vocabulary
        org(6, lat=95, lon=0),                              # 6 latitude out of range
        org(7, size="huge"),                                # 7 bad size
        org(8, website="javascript:alert(1)"),              # 8 bad URL scheme
        org(9, name="N" * 121),                             # 9 too long
        "",                                                 # 10 blank: ignored
        "[1, 2]",                                           # 11 not an object
        org(12, lat=51.0),                                  # 12 lat without lon
        org(13, service_radius_km=5000),                    # 13 radius out of range
        org(14, capabilities="not; a list"),                # 14 a string: split on ';'
        org(1, name="Again"),                               # 15 duplicate id
        org(16, description="bell\x07"),                    # 16 control characters
    ])

    report = run_orgs(path)

    assert problems(report) == {
        (2, "line"), (3, "name"), (4, "id"), (5, "cpv_codes"), (6, "lat"), (7, "size"),
        (8, "website"), (9, "name"), (11, "line"), (12, "lon"), (13, "service_radius_km"),
        (15, "id"), (16, "description"),
    }
    reasons = {(p.line): p.reason for p in report.problems}
    assert reasons[2].startswith("bad JSON")
    assert "missing" in reasons[3]
    assert "not in the CPV 2008 vocabulary" in reasons[5]
    assert "out of range" in reasons[6]
    assert "only http and https" in reasons[8]
    assert "too long" in reasons[9]
    assert "line 1" in reasons[15]
    assert (report.created, report.failed, report.records) == (2, 13, 15)
    assert imported(db, "firm-14").profile.capabilities[0].tag == "a list"
    assert not report.ok


def test_cpv_codes_are_checked_against_the_vocabulary(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [
        org(1, cpv_codes=["45000000-7", 3000000]),  # check digit; a number losing its 0
        org(2, cpv_codes=["4500000"]),
        org(3, cpv_codes=["45000000", "99999999"]),
        org(4, cpv_codes="45000000; 45261000"),
    ])
    report = run_orgs(path)
    assert problems(report) == {(2, "cpv_codes"), (3, "cpv_codes")}
    assert {c.code for c in imported(db, "firm-1").profile.cpv_codes} == {"45000000", "03000000"}
    assert {c.code for c in imported(db, "firm-4").profile.cpv_codes} == {"45000000", "45261000"}


def test_dry_run_writes_nothing(db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1), org(2), "{oops"])
    before = (count(db, Organisation), count(db, User), count(db, SearchOutbox))

    report = run_orgs(path, dry_run=True)

    assert (report.created, report.failed) == (2, 1)
    assert "Dry run" in report.summary()
    assert (count(db, Organisation), count(db, User), count(db, SearchOutbox)) == before


def test_a_failing_batch_rolls_back_and_only_the_bad_record_is_lost(db, tmp_path, make_org,
                                                                    monkeypatch):
    make_org(name="Existing", slug="taken")
    allocate = SlugAllocator.allocate

    def poisoned(self, name, key):
        # A database-level failure validation cannot see: a duplicate slug.
        return "taken" if name == "Firm 3 Ltd" else allocate(self, name, key)

    monkeypatch.setattr(SlugAllocator, "allocate", poisoned)
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(n) for n in range(1, 7)])

    report = run_orgs(path, batch_size=2)

    assert (report.created, report.failed) == (5, 1)
    [problem] = report.problems
    assert (problem.line, problem.record_id, problem.field) == (3, "firm-3", "record")
    assert "database refused" in problem.reason
    assert imported(db, "firm-3") is None
    assert imported(db, "firm-4") is not None  # its batch mate
    assert len(outbox(db, "organisation")) == 5


def test_system_account_address_taken_by_a_real_account_stops_the_import(db, tmp_path,
                                                                         make_user):
    make_user(SYSTEM_EMAIL)
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1)])
    with pytest.raises(Conflict):
        run_orgs(path)
    db.session.rollback()
    assert count(db, Organisation) == 0


def test_report_tsv_neutralises_spreadsheet_formulas():
    report = ImportReport(kind="organisation")
    report.fail(Problem(3, "name", "bad\tvalue\nhere", record_id="=HYPERLINK(1)"))
    lines = report.to_tsv().splitlines()
    assert lines[0] == "line\trecord_id\tfield\treason\tseverity"
    assert lines[1] == "3\t'=HYPERLINK(1)\tname\tbad value here\terror"


# --- organisations: CSV --------------------------------------------------------------------

CSV_TEXT = (
    "Member No,Company name,Postcode,Town,Website,Description,Capabilities,CPV codes,Size,Fax\n"
    '101,Acme Joinery,BS1 1AA,Bristol,acme.example,"Doors, windows\nand stairs",'
    'Joinery; Carpentry,45421000;45000000-7,small,0117\n'
    "102,Bad Website,,,ftp://x.example,,,,,\n"
    ",No Id Ltd,,,,,,,,\n"
    "\n"
    "104,Beta Builders,,Bath,,,,,medium,\n"
)


def test_csv_member_list_is_mapped_by_header(db, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")

    report = run_orgs(path, source="chamber")

    assert report.file_format == "csv"
    assert problems(report) == {(4, "website"), (5, "id")}  # line 2-3 is one quoted record
    assert [p.field for p in report.notices] == ["Fax"]
    acme = imported(db, "101", "chamber")
    assert acme.name == "Acme Joinery"
    assert acme.profile.description == "Doors, windows\nand stairs"
    assert [c.tag for c in acme.profile.capabilities] == ["Carpentry", "Joinery"]
    assert {c.code for c in acme.profile.cpv_codes} == {"45421000", "45000000"}
    assert (acme.profile.postcode, acme.profile.town, acme.profile.website) == (
        "BS1 1AA", "Bristol", "https://acme.example")
    assert imported(db, "104", "chamber").profile.size.value == "medium"
    assert run_orgs(path, source="chamber").unchanged == 2


def test_csv_with_semicolons_bom_and_windows_encoding(db, tmp_path):
    path = tmp_path / "members.csv"
    text = "\ufeffREF;Business Name;City;Latitude;Longitude\n7;Café Crème;Zürich;47,37;8,54\n"
    path.write_bytes(text.encode("cp1252", errors="ignore"))

    report = run_orgs(path)

    assert report.ok, report.lines()
    entry = imported(db, "7")
    assert (entry.name, entry.profile.town) == ("Café Crème", "Zürich")
    assert (entry.profile.lat, entry.profile.lon) == (47.37, 8.54)
    assert any("windows-1252" in n.reason for n in report.notices)


def test_csv_without_a_name_column_is_refused_as_a_whole(db, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("id,Phone\n1,0117\n", encoding="utf-8")
    report = run_orgs(path)
    assert report.file_failed
    assert "'name'" in report.problems[0].reason
    assert count(db, Organisation) == 0


# --- tenders: DESIGN.md JSON Lines ---------------------------------------------------------

def tender(n: int, **fields) -> dict:
    return {"id": f"T-{n}", "title": f"Tender {n}", **fields}


def test_tender_jsonl_sets_status_from_the_deadline_and_finds_buyers(db, tmp_path, make_org):
    council = make_org(name="Bath Council", is_buyer=True)
    path = write_jsonl(tmp_path / "tenders.jsonl", [
        tender(1, deadline=FUTURE.isoformat(), buyer="Bath Council", cpv_codes=["45000000"],
               budget_min=1000, budget_max="25000.50", currency="eur", town="Bath",
               region="South West", lat=51.38, lon=-2.36, description="Fix the roof."),
        tender(2, deadline=PAST.isoformat(), buyer="New Buyer"),
        tender(3),
        # The field names of ../shared/data/demo/tenders_uk.jsonl
        tender(4, source="contracts_finder", buyer_name="New Buyer", value_amount=900,
               value_currency="GBP", delivery_region="Wales", delivery_postcode="CF10 1AA",
               notice_url="https://example.org/notice/4", publisher="Contracts Finder",
               licence="OGL-UK-3.0", date="2025-01-02T10:00:00Z"),
    ])

    report = run_tenders(path)

    assert report.ok, report.lines()
    assert report.created == 4
    tenders = {t.source_id: t for t in db.session.scalars(select(Tender))}
    first = tenders["T-1"]
    assert (first.status, first.buyer_id, first.deadline) == (TenderStatus.OPEN, council.id,
                                                              FUTURE)
    assert first.published_at is not None
    assert (first.budget_min, first.budget_max, first.currency) == (
        Decimal("1000.00"), Decimal("25000.50"), "EUR")
    assert [c.code for c in first.cpv_codes] == ["45000000"]
    assert tenders["T-2"].status == TenderStatus.CLOSED
    assert tenders["T-2"].closed_at is not None
    assert tenders["T-3"].status == TenderStatus.CLOSED  # no deadline: not open for bids
    fourth = tenders["T-4"]
    assert (fourth.source, fourth.region, fourth.postcode, fourth.budget_max) == (
        "contracts_finder", "Wales", "CF10 1AA", Decimal("900.00"))
    assert fourth.source_url == "https://example.org/notice/4"
    assert fourth.published_at == datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert tenders["T-2"].buyer_id == fourth.buyer_id  # one new buyer, found by name
    new_buyer = db.session.get(Organisation, fourth.buyer_id)
    assert new_buyer.is_buyer
    assert [m.user.email for m in new_buyer.memberships] == [SYSTEM_EMAIL]
    assert sorted(outbox(db, "tender")) == sorted(t.id for t in tenders.values())


def test_tender_reimport_is_a_no_op_and_changes_update(db, tmp_path):
    path = write_jsonl(tmp_path / "tenders.jsonl", [
        tender(1, deadline=FUTURE.isoformat(), cpv_codes=["45000000"], budget_max=10),
        tender(2, deadline=FUTURE.isoformat()),
    ])
    run_tenders(path)
    outbox_before = count(db, SearchOutbox)
    db.session.expire_all()

    again = run_tenders(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert count(db, SearchOutbox) == outbox_before

    write_jsonl(path, [
        tender(1, title="Tender one, revised", deadline=FUTURE.isoformat(),
               cpv_codes=["45261000"], budget_max=10),
        tender(2, deadline=FUTURE.isoformat()),
    ])
    changed = run_tenders(path)
    assert (changed.updated, changed.unchanged) == (1, 1)
    db.session.expire_all()
    first = db.session.scalar(select(Tender).where(Tender.source_id == "T-1"))
    assert first.title == "Tender one, revised"
    assert [c.code for c in first.cpv_codes] == ["45261000"]
    assert first.version == 2
    assert first.terms_changed_at is not None  # bids made before need re-approval
    assert count(db, SearchOutbox) == outbox_before + 1
    assert count(db, Tender) == 2


def test_closed_or_awarded_tenders_are_never_reopened(db, tmp_path):
    path = write_jsonl(tmp_path / "tenders.jsonl", [tender(1, deadline=PAST.isoformat())])
    run_tenders(path)
    write_jsonl(path, [tender(1, deadline=FUTURE.isoformat())])
    report = run_tenders(path)
    db.session.expire_all()
    assert db.session.scalar(select(Tender.status)) == TenderStatus.CLOSED
    assert "stays closed" in report.notices[0].reason


def test_bad_tender_fields_are_reported(db, tmp_path):
    path = write_jsonl(tmp_path / "tenders.jsonl", [
        tender(1, deadline="next Tuesday"),
        tender(2, deadline="2030-01-01"),
        tender(3, budget_min=50, budget_max=10),
        tender(4, currency="pounds"),
        tender(5, notice_url="file:///etc/passwd"),
        {"id": "T-6"},
        tender(7, deadline="2030-01-01T12:00:00"),  # no offset: UK time
    ])
    report = run_tenders(path)
    assert problems(report) == {(1, "deadline"), (2, "deadline"), (3, "budget_min"),
                                (4, "currency"), (5, "notice_url"), (6, "title")}
    assert report.created == 1
    assert db.session.scalar(select(Tender.deadline)) == datetime(2030, 1, 1, 12, tzinfo=UTC)


# --- tenders: OCDS -------------------------------------------------------------------------

def ocds_release(ocid: str, date: str, **tender_fields) -> dict:
    return {"ocid": ocid, "id": f"{ocid}-{date}", "date": date, "tag": ["tender"],
            "initiationType": "tender", "buyer": {"id": "GB-1", "name": "Harbour Authority"},
            "tender": {"id": "1", **tender_fields}}


def test_ocds_release_package_is_mapped_and_merged_per_ocid(db, tmp_path):
    package = {
        "uri": "https://example.org/package.json", "version": "1.1",
        "publishedDate": "2025-01-01T00:00:00Z", "publisher": {"name": "Example Portal"},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "releases": [
            ocds_release(
                "ocds-abc-1", "2025-01-01T09:00:00Z", title="Dredging the harbour",
                description="Maintenance dredging.",
                items=[{"id": "1", "classification": {"scheme": "CPV", "id": "45252124-0"},
                        "additionalClassifications": [{"scheme": "CPV", "id": "90000000"},
                                                      {"scheme": "UNSPSC", "id": "1234"}],
                        "deliveryAddress": {"locality": "Falmouth", "region": "Cornwall",
                                            "postalCode": "TR11 3DF"},
                        "deliveryLocation": {"geometry": {"type": "Point",
                                                          "coordinates": [-5.07, 50.15]}}}],
                tenderPeriod={"endDate": FUTURE.isoformat()},
                value={"amount": 500000, "currency": "GBP"},
                minValue={"amount": 250000, "currency": "GBP"}),
            # A later amendment of the same process: new title, the rest stays.
            ocds_release("ocds-abc-1", "2025-02-01T09:00:00Z", title="Dredging, amended"),
            ocds_release("ocds-abc-2", "2025-01-01T09:00:00Z", title="Cancelled one",
                         status="cancelled"),
            ocds_release("ocds-abc-3", "2025-01-01T09:00:00Z",
                         items=[{"id": "1", "classification": {"scheme": "CPV",
                                                               "id": "11111111"}}]),
            "not a release",
        ],
    }
    path = tmp_path / "package.json"
    path.write_text(json.dumps(package, indent=2), encoding="utf-8")

    report = run_tenders(path)

    assert report.file_format == "OCDS release package"
    assert {(p.position, p.field) for p in report.problems} == {
        ("releases[3]", "tender.title"), ("releases[3]", "tender.items.classification"),
        ("releases[4]", "release")}
    assert report.created == 2
    dredging = db.session.scalar(select(Tender).where(Tender.source_id == "ocds-abc-1"))
    assert dredging.source == "ocds"
    assert dredging.title == "Dredging, amended"
    assert dredging.description == "Maintenance dredging."
    assert [c.code for c in dredging.cpv_codes] == ["45252124", "90000000"]
    assert (dredging.deadline, dredging.status) == (FUTURE, TenderStatus.OPEN)
    assert (dredging.budget_min, dredging.budget_max) == (Decimal("250000.00"),
                                                          Decimal("500000.00"))
    assert (dredging.town, dredging.region, dredging.postcode) == (
        "Falmouth", "Cornwall", "TR11 3DF")
    assert (dredging.lat, dredging.lon) == (50.15, -5.07)
    assert dredging.buyer.name == "Harbour Authority"
    assert dredging.source_publisher == "Example Portal"
    cancelled = db.session.scalar(select(Tender).where(Tender.source_id == "ocds-abc-2"))
    assert cancelled.status == TenderStatus.CANCELLED
    assert run_tenders(path).unchanged == 2


def test_ocds_releases_as_json_lines(db, tmp_path):
    path = write_jsonl(tmp_path / "releases.jsonl", [
        ocds_release("ocds-x-1", "2025-01-01T00:00:00Z", title="One",
                     tenderPeriod={"endDate": PAST.isoformat()}),
        ocds_release("ocds-x-2", "2025-01-01T00:00:00Z", title="Two",
                     tenderPeriod={"endDate": "soon"}),
    ])
    report = run_tenders(path, source="portal")
    assert report.file_format == "OCDS releases, JSON Lines"
    assert problems(report) == {(2, "tender.tenderPeriod.endDate")}
    assert db.session.scalar(select(Tender.source)) == "portal"


def test_unreadable_tender_files_are_reported_not_raised(db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"releases": [ {"ocid": ', encoding="utf-8")
    report = run_tenders(path)
    assert report.file_failed and "bad JSON" in report.problems[0].reason
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert "empty" in run_tenders(empty).problems[0].reason


# --- the command line ----------------------------------------------------------------------

def test_cli_imports_with_progress_and_exit_code_zero(db, runner, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1), org(2)])
    result = runner.invoke(args=["import", "organisations", str(path)])
    assert result.exit_code == 0, result.output
    assert "Importing organisations" in result.output
    assert "2 created" in result.output
    result = runner.invoke(args=["import", "organisations", str(path)])
    assert "2 unchanged" in result.output and result.exit_code == 0


def test_cli_exit_code_is_non_zero_when_a_line_fails_but_good_lines_are_imported(
        db, runner, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1), {"id": "2"}, org(3, size="giant")])
    report_path = tmp_path / "report.tsv"
    result = runner.invoke(args=["import", "organisations", str(path),
                                 "--report", str(report_path)])
    assert result.exit_code == 1
    assert "line 2 [2]: name: missing (required)" in result.output
    assert "line 3 [firm-3]: size:" in result.output
    assert "1 created" in result.output
    assert count(db, Organisation) == 1
    rows = report_path.read_text().splitlines()
    assert rows[0].startswith("line\trecord_id\tfield")
    assert rows[1].startswith("2\t2\tname\t")


def test_cli_dry_run_and_tenders(db, runner, tmp_path):
    path = write_jsonl(tmp_path / "tenders.jsonl", [tender(1)])
    result = runner.invoke(args=["import", "tenders", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "1 would be created" in result.output
    assert count(db, Tender) == 0
    result = runner.invoke(args=["import", "tenders", str(path)])
    assert result.exit_code == 0 and count(db, Tender) == 1


def test_cli_refuses_when_the_system_account_is_taken(db, runner, tmp_path, make_user):
    make_user(SYSTEM_EMAIL)
    path = write_jsonl(tmp_path / "orgs.jsonl", [org(1)])
    result = runner.invoke(args=["import", "organisations", str(path)])
    assert result.exit_code == 1
    assert "not the import system account" in result.output


def test_a_notice_without_deadline_or_link_keeps_the_ones_guild_has(db, tmp_path):
    path = write_jsonl(tmp_path / "tenders.jsonl", [
        tender(1, deadline=FUTURE.isoformat(), notice_url="https://example.org/n/1")])
    run_tenders(path)
    write_jsonl(path, [tender(1)])
    report = run_tenders(path)
    assert report.unchanged == 1
    db.session.expire_all()
    kept = db.session.scalar(select(Tender))
    assert (kept.deadline, kept.status, kept.source_url) == (
        FUTURE, TenderStatus.OPEN, "https://example.org/n/1")
