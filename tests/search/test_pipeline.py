"""The index pipeline: outbox -> indexer -> Whoosh, crash safety, ordering, the lock, rebuild."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from marketplace.extensions import db
from marketplace.models import Organisation, SearchOutbox, TenderStatus
from marketplace.search import indexer, service
from marketplace.search.index import open_index
from marketplace.search.schema import doc_id
from marketplace.search_outbox import record_change
from tests.bidding import build_team, give_profile, make_alliance, start_bid
from tests.conftest import is_postgres
from tests.tendering import make_tender


def path_of(app) -> str:
    return app.config["SEARCH_INDEX_DIR"]


def indexed(app) -> dict[str, dict]:
    """Every live document of the app's index, by doc id."""
    ix = open_index(path_of(app))
    try:
        with ix.searcher() as s:
            return {f["doc_id"]: f for f in s.all_stored_fields()}
    finally:
        ix.close()


def doc_count(app) -> int:
    ix = open_index(path_of(app))
    try:
        with ix.searcher() as s:
            return s.doc_count()
    finally:
        ix.close()


def published_org(make_org, name, *, caps=("roofing",), cpv=("45261000",), record=True,
                  description="Roof repairs and slate roofing.", certs=(), **place):
    org = make_org(name=name)
    profile = give_profile(org, capabilities=caps, cpv=cpv, certs=certs)
    profile.description = description
    profile.town = place.get("town", "Leeds")
    profile.lat, profile.lon = place.get("lat", 53.8), place.get("lon", -1.55)
    profile.service_radius_km = 50
    if record:
        record_change("organisation", org.id)
    db.session.commit()
    return org


def test_rollback_leaves_no_outbox_row_and_no_document(app, make_org, index_now):
    org = published_org(make_org, "Brightwater Roofing", record=False)
    index_now()
    org.profile.description = "Green roofs"
    record_change("organisation", org.id)
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    index_now()
    assert doc_id("organisation", org.id) not in indexed(app)

    record_change("organisation", org.id)
    db.session.commit()
    index_now()
    assert doc_id("organisation", org.id) in indexed(app)


def test_rows_committed_while_no_indexer_ran_are_applied_later(app, make_org, index_now):
    # the web process committed, then "crashed" before anything touched the index
    orgs = [published_org(make_org, f"Roofer {i}") for i in range(3)]
    assert indexer.read_state(path_of(app)).last_id == 0
    stats = index_now()
    assert stats.rows == 3
    docs = indexed(app)
    assert all(doc_id("organisation", o.id) in docs for o in orgs)
    state = indexer.read_state(path_of(app))
    assert state.last_id == db.session.scalar(select(func.max(SearchOutbox.id)))
    assert index_now().rows == 0  # nothing left


def test_crash_after_whoosh_commit_before_progress_is_reapplied_once(
        app, make_org, index_now, monkeypatch):
    orgs = [published_org(make_org, f"Roofer {i}") for i in range(3)]

    def killed():
        raise SystemExit("killed between the Whoosh commit and the progress write")

    monkeypatch.setattr(indexer, "after_commit_hook", killed)
    with pytest.raises(SystemExit):
        index_now()
    assert indexer.read_state(path_of(app)).last_id == 0  # progress not recorded...
    assert len(indexed(app)) == 3  # ...though the documents were committed

    monkeypatch.setattr(indexer, "after_commit_hook", None)
    stats = index_now()  # the restart
    assert stats.rows == 3 and stats.upserted == 3
    docs = indexed(app)
    assert sorted(docs) == sorted(doc_id("organisation", o.id) for o in orgs)
    assert doc_count(app) == 3  # no duplicates


def test_gap_below_the_mark_is_applied_when_it_appears(app, make_org, index_now):
    """Out-of-order commit simulated with explicit ids (works on SQLite too)."""
    a = published_org(make_org, "Alpha Roofing", record=False)
    b = published_org(make_org, "Beta Roofing", record=False)
    index_now()
    base = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    now = datetime.now(UTC)
    db.session.execute(insert(SearchOutbox).values(id=base + 2, kind="organisation",
                                                   object_id=b.id, created_at=now))
    db.session.commit()
    stats = index_now()
    assert stats.gaps_open == 1
    assert doc_id("organisation", b.id) in indexed(app)
    assert doc_id("organisation", a.id) not in indexed(app)

    db.session.execute(insert(SearchOutbox).values(id=base + 1, kind="organisation",
                                                   object_id=a.id, created_at=now))
    db.session.commit()
    stats = index_now()
    assert stats.gaps_filled == 1 and stats.gaps_open == 0
    assert doc_id("organisation", a.id) in indexed(app)


def test_gap_is_given_up_after_the_timeout(app, make_org, index_now):
    b = published_org(make_org, "Beta Roofing", record=False)
    base = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    db.session.execute(insert(SearchOutbox).values(id=base + 3, kind="organisation",
                                                   object_id=b.id,
                                                   created_at=datetime.now(UTC)))
    db.session.commit()
    assert index_now().gaps_open == 2
    app.config["SEARCH_GAP_TIMEOUT"] = 0
    stats = index_now()
    assert stats.gaps_expired == 2 and stats.gaps_open == 0
    assert indexer.read_state(path_of(app)).gaps == {}


@pytest.mark.skipif(not is_postgres(), reason="SQLite serialises writers: ids cannot commit "
                    "out of order there (set TEST_DATABASE_URL to a PostgreSQL database)")
def test_out_of_order_commit_on_postgresql(app, make_org, index_now):
    """T1 takes an id and holds its transaction; T2 takes a higher id and commits; the indexer
    runs; T1 commits; the indexer runs: both changes are in the index."""
    a = published_org(make_org, "Alpha Roofing", record=False)
    b = published_org(make_org, "Beta Roofing", record=False)
    published_org(make_org, "Gamma Roofing")  # steady state: the mark sits at the newest id
    assert index_now().rows == 1
    row = {"kind": "organisation", "created_at": datetime.now(UTC)}
    with db.engine.connect() as c1, db.engine.connect() as c2:
        t1 = c1.begin()
        id1 = c1.execute(insert(SearchOutbox).values(object_id=a.id, **row)
                         .returning(SearchOutbox.id)).scalar_one()
        with c2.begin():
            id2 = c2.execute(insert(SearchOutbox).values(object_id=b.id, **row)
                             .returning(SearchOutbox.id)).scalar_one()
        assert id2 > id1
        stats = index_now()
        assert doc_id("organisation", b.id) in indexed(app)
        assert doc_id("organisation", a.id) not in indexed(app)
        # (other tests' deleted rows leave older holes in the sequence too)
        assert stats.last_id == id2 and id1 in indexer.read_state(path_of(app)).gaps
        t1.commit()
    stats = index_now()
    assert stats.gaps_filled == 1 and id1 not in indexer.read_state(path_of(app)).gaps
    assert doc_id("organisation", a.id) in indexed(app)


def test_second_indexer_does_not_write_while_the_lock_is_held(app, make_org, index_now):
    service.ensure_index_ready()
    org = published_org(make_org, "Brightwater Roofing")
    held = indexer.IndexLock(path_of(app))
    assert held.acquire(blocking=False)
    try:
        assert service.catch_up() is None  # a web worker: never waits
        assert indexer.run_once(path_of(app), blocking=False) is None
        assert indexer.run_once(path_of(app), lock_timeout=0.2) is None
        assert doc_id("organisation", org.id) not in indexed(app)
        assert indexer.read_state(path_of(app)).last_id == 0
    finally:
        held.release()
    assert service.catch_up().rows == 1
    assert doc_id("organisation", org.id) in indexed(app)


def _world(app, make_user, make_org):
    """One of each kind, plus things that must stay out of the index."""
    from tests.alliance_helpers import build_world, confirm, post_project

    world = build_world(app, make_user, make_org)
    give_profile(world.lead_org, capabilities=["joinery"], cpv=["45421000"],
                 certs=[("ISO 9001", date(2099, 1, 1)), ("Expired Mark", date(2001, 1, 1))])
    give_profile(world.member_org, capabilities=["electrical"], cpv=["45310000"])
    for org in (world.lead_org, world.member_org):
        record_change("organisation", org.id)
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")])
    confirm(app, world.member_user, project, world.member_org)
    hidden = published_org(make_org, "Hidden Roofing")
    hidden.hidden_at = datetime.now(UTC)
    record_change("organisation", hidden.id)
    buyer = make_org(name="Avonmere Council", is_buyer=True)
    open_tender = make_tender(buyer, title="Roof repairs at three schools")
    draft = make_tender(buyer, title="Draft tender", status=TenderStatus.DRAFT)
    for t in (open_tender, draft):
        record_change("tender", t.id)
    db.session.commit()
    return world, project, hidden, open_tender, draft


def _snapshot(app) -> dict[str, dict]:
    return {k: {f: v for f, v in d.items()} for k, d in indexed(app).items()}


def test_rebuild_equals_incremental(app, make_user, make_org, index_now):
    world, project, hidden, open_tender, draft = _world(app, make_user, make_org)
    index_now()
    incremental = _snapshot(app)
    assert doc_id("alliance", world.alliance.id) in incremental
    assert doc_id("project", project.id) in incremental
    assert doc_id("tender", open_tender.id) in incremental
    assert doc_id("tender", draft.id) not in incremental
    assert doc_id("organisation", hidden.id) not in incremental
    lead = incremental[doc_id("organisation", world.lead_org.id)]
    assert lead["certs"] == ["iso 9001"] and lead["track_record"] == 1  # expired cert left out
    alliance = incremental[doc_id("alliance", world.alliance.id)]
    assert {"joinery", "electrical"} <= set(alliance["capabilities"].split("; "))

    count, state = indexer.rebuild(path_of(app))
    rebuilt = _snapshot(app)
    assert count == len(rebuilt)
    assert sorted(rebuilt) == sorted(incremental)
    assert {k: d["version"] for k, d in rebuilt.items()} == {
        k: d["version"] for k, d in incremental.items()}
    assert rebuilt == incremental
    assert state.last_id == db.session.scalar(select(func.max(SearchOutbox.id)))


def test_organisation_change_reaches_its_alliance_and_hiding_deletes(
        app, make_user, make_org, index_now):
    a = published_org(make_org, "Alpha Roofing")
    b = published_org(make_org, "Beta Scaffolding", caps=("scaffolding",), cpv=("45262100",))
    alliance = make_alliance("Roof Partners", a, b)
    record_change("alliance", alliance.id)
    db.session.commit()
    index_now()
    a.profile.capabilities[0].tag = "leadwork"
    record_change("organisation", a.id)  # only the organisation is recorded
    db.session.commit()
    index_now()
    caps = indexed(app)[doc_id("alliance", alliance.id)]["capabilities"]
    assert "leadwork" in caps and "roofing" not in caps

    b.hidden_at = datetime.now(UTC)
    record_change("organisation", b.id)
    db.session.commit()
    index_now()
    docs = indexed(app)
    assert doc_id("organisation", b.id) not in docs
    assert "Beta Scaffolding" not in docs[doc_id("alliance", alliance.id)]["body"]


MARKER = "zqxsealedmarker"


def _marker_anywhere(app) -> list[str]:
    """Fields whose term list holds the marker, and stored values that mention it."""
    ix = open_index(path_of(app))
    try:
        with ix.searcher() as s:
            r = s.reader()
            hits = [f for f in ix.schema.names()
                    if ix.schema[f].indexed and any(MARKER in (t.decode("utf-8", "replace")
                                                                if isinstance(t, bytes) else
                                                                str(t))
                                                     for t in r.lexicon(f))]
            hits += [d["doc_id"] for d in s.all_stored_fields() if MARKER in repr(d).lower()]
            return hits
    finally:
        ix.close()


def test_sealed_bids_are_never_indexed(app, make_user, make_org, index_now):
    team = build_team(app, make_user, make_org)
    for org in (team.lead, *team.partners):
        record_change("organisation", org.id)
    record_change("tender", team.tender.id)
    db.session.commit()
    start_bid(app, team, proposal=f"Our sealed price trick {MARKER} must stay secret.")
    record_change("tender", team.tender.id)  # anything touching the tender again
    db.session.commit()
    index_now()
    assert doc_id("tender", team.tender.id) in indexed(app)
    assert _marker_anywhere(app) == []
    assert service.search_page(MARKER).total == 0
    indexer.rebuild(path_of(app))
    assert _marker_anywhere(app) == []
    assert service.search_page(MARKER).total == 0


def test_service_searcher_follows_commits_and_rebuild_swaps(app, make_org, index_now):
    service.ensure_index_ready()
    with service.index_searcher() as s:
        assert s.doc_count() == 0
    published_org(make_org, "Alpha Roofing")
    index_now()
    with service.index_searcher() as s:
        assert s.doc_count() == 1
    published_org(make_org, "Beta Roofing", record=False)
    indexer.rebuild(path_of(app))
    with service.index_searcher() as s:
        assert s.doc_count() == 2
    page = service.search_page("roofing")
    assert {h.title for h in page.hits} == {"Alpha Roofing", "Beta Roofing"}


def test_tender_page_matches_and_tenders_for_you_share_the_scorer(app, make_org, index_now):
    roofer = published_org(make_org, "Brightwater Roofing")
    published_org(make_org, "Pixel Forge", caps=("web design",), cpv=("72212000",),
                  description="Websites for councils.")
    buyer = published_org(make_org, "Roofing Buyer Council")  # would match its own tender
    tender = make_tender(buyer, title="Roof repairs at three schools")
    closed = make_tender(buyer, title="Roof repairs, old", deadline=datetime.now(UTC)
                         - timedelta(days=1))
    for t in (tender, closed):
        record_change("tender", t.id)
    db.session.commit()
    index_now()
    found = service.matches_for_tender(tender)
    ids = [m.doc_id for m in found]
    assert ids[0] == doc_id("organisation", roofer.id)
    assert doc_id("organisation", buyer.id) not in ids
    assert found[0].reasons.terms and found[0].reasons.best_cpv_level == "class"
    resolved = service.resolve(found)
    assert isinstance(resolved[0].obj, Organisation) and resolved[0].obj.id == roofer.id

    mine = service.tenders_for_organisation(roofer)
    assert [m.doc_id for m in mine] == [doc_id("tender", tender.id)]  # the closed one is not
    assert service.tenders_for_organisation(buyer) == []  # its own tenders are left out


def test_filters_from_params_match_the_search_form():
    from marketplace.search.service import filters_from_params

    assert filters_from_params({"division": "45", "group": "452", "cpv_class": "",
                                "size": "small", "status": "open"}) == {
        "cpv": "452", "size": "small", "status": "open"}
    assert filters_from_params({"cpv": "x'; DROP", "within": "nan"}) == {}
