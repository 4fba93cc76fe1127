"""Alerts: saved searches and "tenders for you", at once in the inbox, daily by e-mail.

When the indexer first indexes a published open tender (after its Whoosh commit), it calls
:func:`on_tenders_indexed`:

- each saved search (``kind="search"``) is run, with the search page's own parser and filters
  (:func:`marketplace.search.service.filters_from_params`), against a throw-away in-memory
  index holding only the new tenders -- so "matches" means exactly what the search page means;
- each "tenders for you" subscription (``kind="tenders_for"``) fires when its organisation is in
  the tender's top :data:`TENDERS_FOR_TOP` matches of THE scorer (``match_tender``).

Every hit is an :class:`AlertMatch` row (unique per alert and tender) and the tender gets an
:class:`AlertScan` row; both are written in one transaction with the inbox notifications, so
re-applying outbox rows after a crash, or a second index replica doing the same, notifies
nobody twice. ``flask alerts send`` then e-mails each user one digest of the matches not yet
e-mailed.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import datetime

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.clock import now as clock_now
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import AlertMatch, AlertScan, SavedSearch, Tender, User

log = logging.getLogger(__name__)

KIND_SEARCH = "search"
KIND_TENDERS_FOR = "tenders_for"
MAX_SAVED_PER_USER = 50
MAX_PARAMS = 12
MAX_PARAM_CHARS = 200
TENDERS_FOR_TOP = 20
_PARAM_KEY = re.compile(r"^[a-z_]{1,20}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Search-page parameters that say nothing about which tenders match.
_IGNORED_PARAMS = {"page", "kind", "csrf_token", "submit"}


# ------------------------------------------------------------------ services for the UI

def _clean_params(params) -> dict[str, str]:
    if hasattr(params, "to_dict"):  # a MultiDict (request.args): first value of each key
        params = params.to_dict(flat=True)
    items = params.items() if isinstance(params, dict) else ()
    out: dict[str, str] = {}
    for key, value in items:
        if key in _IGNORED_PARAMS:
            continue
        if not isinstance(key, str) or not _PARAM_KEY.match(key):
            raise ValidationFailed("This search cannot be saved.")
        value = "" if value is None else str(value).strip()
        if _CONTROL.search(value) or len(value) > MAX_PARAM_CHARS:
            raise ValidationFailed("This search cannot be saved.")
        if value:
            out[key] = value
    if len(out) > MAX_PARAMS:
        raise ValidationFailed("This search cannot be saved.")
    if not out.get("q"):
        raise ValidationFailed("Enter some words to search for before saving the search.")
    return out


def _check_quota(user: User) -> None:
    n = len(saved_searches_for(user))
    if n >= MAX_SAVED_PER_USER:
        raise Conflict(f"You already have {MAX_SAVED_PER_USER} alerts; delete one first.")


def save_search(user: User, params, *, label: str = "") -> SavedSearch:
    """Save the search page's query-string ``params`` (a dict or MultiDict) as an alert
    for tenders. Caller commits. Raises ValidationFailed for an unusable search."""
    clean = _clean_params(params)
    label = " ".join(str(label or "").split())[:200] or clean["q"][:200]
    for existing in saved_searches_for(user):
        if existing.kind == KIND_SEARCH and existing.params == clean:
            return existing
    _check_quota(user)
    row = SavedSearch(user_id=user.id, kind=KIND_SEARCH, params=clean, label=label,
                      created_at=clock_now())
    db.session.add(row)
    db.session.flush()
    return row


def subscribe_tenders_for(user: User, org) -> SavedSearch:
    """Turn on "tenders for you" alerts of ``org`` for ``user`` (a member). Caller commits."""
    from marketplace.permissions import is_member

    if not is_member(user, org):
        raise PermissionDenied("Only members of the organisation can get its tender alerts.")
    for existing in saved_searches_for(user):
        if existing.kind == KIND_TENDERS_FOR and existing.organisation_id == org.id:
            return existing
    _check_quota(user)
    row = SavedSearch(user_id=user.id, kind=KIND_TENDERS_FOR, organisation_id=org.id,
                      params={}, label=f"Tenders for {org.name}"[:200], created_at=clock_now())
    db.session.add(row)
    db.session.flush()
    return row


def delete_saved_search(user: User, saved_search_id: int) -> None:
    """Delete one of the user's alerts; 404 for anyone else's. Caller commits."""
    row = db.session.get(SavedSearch, saved_search_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such saved search.")
    db.session.delete(row)
    db.session.flush()


def saved_searches_for(user: User) -> list[SavedSearch]:
    return list(db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id)
                                   .order_by(SavedSearch.created_at.desc(), SavedSearch.id)))


def tenders_for_subscription(user: User, org) -> SavedSearch | None:
    return db.session.scalar(select(SavedSearch).where(
        SavedSearch.user_id == user.id, SavedSearch.kind == KIND_TENDERS_FOR,
        SavedSearch.organisation_id == org.id))


# ------------------------------------------------------------------ from the indexer

def on_tenders_indexed(ix, tenders: list[dict]) -> int:
    """Notify alerts about tenders indexed for the first time while open. Commits its own
    transaction; returns the number of alert matches written (0 if already done)."""
    open_ = {int(t["id"]): t for t in tenders if t.get("status") == "open"}
    if not open_:
        return 0
    done = set(db.session.scalars(select(AlertScan.tender_id).where(
        AlertScan.tender_id.in_(sorted(open_)))))
    new = {i: t for i, t in open_.items() if i not in done}
    if not new:
        return 0
    at = clock_now()
    hits = _search_hits(new) + _tenders_for_hits(ix, new)
    searches = {s.id: s for s in db.session.scalars(select(SavedSearch).where(
        SavedSearch.id.in_(sorted({h[0] for h in hits}))))} if hits else {}
    per_user: dict[int, dict[int, list[SavedSearch]]] = defaultdict(lambda: defaultdict(list))
    for ss_id, tender_id, score in hits:
        ss = searches.get(ss_id)
        if ss is None:
            continue
        db.session.add(AlertMatch(saved_search_id=ss_id, tender_id=tender_id, score=score,
                                  created_at=at))
        per_user[ss.user_id][tender_id].append(ss)
    for tender_id in new:
        db.session.add(AlertScan(tender_id=tender_id, scanned_at=at))
    try:
        db.session.flush()
    except IntegrityError:  # another replica's indexer got there first
        db.session.rollback()
        return 0
    _notify(per_user, new)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return 0
    return len(hits)


def _search_hits(new: dict[int, dict]) -> list[tuple[int, int, float | None]]:
    from whoosh.filedb.filestore import RamStorage

    from marketplace.search.documents import tender_document
    from marketplace.search.query import search
    from marketplace.search.schema import build_schema
    from marketplace.search.service import filters_from_params, parse_doc_id

    saved = list(db.session.scalars(select(SavedSearch).where(
        SavedSearch.kind == KIND_SEARCH)))
    if not saved:
        return []
    ram = RamStorage().create_index(build_schema())
    writer = ram.writer()
    for t in new.values():
        writer.add_document(**tender_document(t))
    writer.commit()
    out = []
    with ram.searcher() as s:
        for ss in saved:
            params = ss.params or {}
            try:
                filters = filters_from_params(params)
                page = search(s, params.get("q", ""), kind="tender", filters=filters,
                              pagelen=100, counts=False, highlights=False, suggest_below=0)
            except Exception:  # a broken saved search must not stop the others
                log.exception("saved search %s failed", ss.id)
                continue
            if page.relaxed:  # "no result for all words, some for any" is not a match
                continue
            for hit in page.hits:
                p = parse_doc_id(hit.doc_id)
                if p and p[1] in new:
                    out.append((ss.id, p[1], None))
    return out


def _tenders_for_hits(ix, new: dict[int, dict]) -> list[tuple[int, int, float | None]]:
    from marketplace.search.matching import match_tender
    from marketplace.search.service import parse_doc_id

    subs = list(db.session.scalars(select(SavedSearch).where(
        SavedSearch.kind == KIND_TENDERS_FOR)))
    if not subs:
        return []
    by_org: dict[int, list[SavedSearch]] = defaultdict(list)
    for ss in subs:
        if ss.organisation_id is not None:
            by_org[ss.organisation_id].append(ss)
    buyers = dict(db.session.execute(select(Tender.id, Tender.buyer_id).where(
        Tender.id.in_(sorted(new)))).all())
    out = []
    with ix.searcher() as s:
        for tid, t in new.items():
            for m in match_tender(s, t, kinds=("organisation",), top=TENDERS_FOR_TOP):
                p = parse_doc_id(m.doc_id)
                if not p or p[1] == buyers.get(tid):
                    continue
                if m.components.get("text", 0) <= 0 and m.components.get("cpv", 0) <= 0:
                    continue  # near, certified and experienced is not "for you" on its own
                for ss in by_org.get(p[1], ()):
                    out.append((ss.id, tid, m.score))
    return out


def _link(tender_id: int) -> str:
    try:
        return url_for("tenders.show", tender_id=tender_id)
    except RuntimeError:
        return f"/tenders/{tender_id}"


def _notify(per_user: dict[int, dict[int, list[SavedSearch]]], new: dict[int, dict]) -> None:
    from marketplace.notifications import notify

    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_(sorted(per_user))))} if per_user else {}
    for user_id, tenders in per_user.items():
        user = users.get(user_id)
        if user is None:
            continue
        for tender_id, alerts in tenders.items():
            title = new[tender_id].get("title") or "A new tender"
            names = ", ".join(dict.fromkeys(a.label for a in alerts if a.label))
            notify([user], "tender_alert", f"New tender for you: “{title[:150]}”",
                   body=f"Matches your alert: {names}"[:1000] if names else "",
                   link=_link(tender_id))


# ------------------------------------------------------------------ the daily digest

def send_digests(at: datetime | None = None) -> int:
    """Queue one digest e-mail per user with alert matches not yet e-mailed, for tenders
    still open and public. Caller commits. Returns the number of e-mails queued."""
    from marketplace.mail import queue_email
    from marketplace.search import sources

    at = at or clock_now()
    rows = list(db.session.execute(
        select(AlertMatch, SavedSearch).join(SavedSearch,
                                             SavedSearch.id == AlertMatch.saved_search_id)
        .where(AlertMatch.emailed_at.is_(None))
        .order_by(SavedSearch.user_id, AlertMatch.tender_id)).all())
    if not rows:
        return 0
    tender_ids = sorted({m.tender_id for m, _ in rows})
    live = {i: d for i, d in sources.dicts_for("tender", tender_ids, at=at).items()
            if d is not None and d["status"] == "open"}
    by_user: dict[int, list[tuple[AlertMatch, SavedSearch]]] = defaultdict(list)
    for m, ss in rows:
        by_user[ss.user_id].append((m, ss))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(by_user)))}
    sent = 0
    for user_id, pairs in by_user.items():
        user = users.get(user_id)
        items: dict[int, dict] = {}
        for m, ss in pairs:
            m.emailed_at = at
            ss.last_sent_at = at
            d = live.get(m.tender_id)
            if d is None:
                continue
            item = items.setdefault(m.tender_id, {"title": d["title"], "alerts": [],
                                                  "buyer": d.get("buyer") or "",
                                                  "link": _external_link(m.tender_id)})
            if ss.label and ss.label not in item["alerts"]:
                item["alerts"].append(ss.label)
        if user is None or user.is_suspended or not items:
            continue
        n = len(items)
        queue_email(user.email, f"{n} new tender{'s' if n != 1 else ''} for you on Guild",
                    "alert_digest", user=user, items=list(items.values()))
        sent += 1
    db.session.flush()
    return sent


def _external_link(tender_id: int) -> str:
    try:
        return url_for("tenders.show", tender_id=tender_id, _external=True)
    except RuntimeError:
        base = (current_app.config.get("SERVER_NAME") or "").rstrip("/")
        return f"https://{base}/tenders/{tender_id}" if base else f"/tenders/{tender_id}"
