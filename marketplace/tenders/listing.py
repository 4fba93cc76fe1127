"""The public tender list: filters, sorting and distance, as one SQL query.

Text: the ids the search index matched for ``q`` (stemming, phrases, prefixes, Chinese), or
the literal LIKE, so a tender published since the indexer last ran is still found.
Distance uses an equirectangular approximation in plain arithmetic (no trigonometry in
SQL, so SQLite and PostgreSQL agree); within the West of England it is off by well under
1 %, and a bounding box keeps the filter index-friendly.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, exists, func, or_, select

from marketplace.data.gazetteer import find_town
from marketplace.geo import KM_PER_DEGREE_LAT, bounding_box
from marketplace.models import Organisation, Tender, TenderCpvCode, TenderStatus
from marketplace.tenders.lifecycle import status_clause

CLOSING_SOON = timedelta(days=7)
PER_PAGE = 20


@dataclass
class TenderFilters:
    q: str | None = None
    status: TenderStatus | None = TenderStatus.OPEN  # None: any published status
    cpv: str | None = None  # 2 to 8 digits, a prefix along the hierarchy
    town: str | None = None
    km: float | None = None
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    closing_soon: bool = False
    sort: str = "deadline"
    text_ids: list[int] | None = None  # tender ids the search index matched for q


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def distance_expression(lat: float, lon: float):
    """Squared approximate km from (lat, lon) as a SQL expression, for ordering and
    filtering (compare with km²); pages show the exact great-circle distance."""
    kx = KM_PER_DEGREE_LAT * math.cos(math.radians(lat))
    dx = (Tender.lon - lon) * kx
    dy = (Tender.lat - lat) * KM_PER_DEGREE_LAT
    return dx * dx + dy * dy


def tender_query(filters: TenderFilters, now: datetime) -> Select:
    """Published tenders of visible buyers matching the filters; drafts never appear."""
    query = (select(Tender).join(Organisation, Organisation.id == Tender.buyer_id)
             .where(Tender.status != TenderStatus.DRAFT, Organisation.hidden_at.is_(None)))
    if filters.status is not None:
        query = query.where(status_clause(filters.status, now))
    if filters.q:
        pattern = f"%{_escape_like(filters.q.lower())}%"
        query = query.where(or_(func.lower(Tender.title).like(pattern, escape="\\"),
                                func.lower(Tender.description).like(pattern, escape="\\"),
                                Tender.id.in_(filters.text_ids or [])))
    if filters.cpv:
        query = query.where(exists().where(TenderCpvCode.tender_id == Tender.id,
                                           TenderCpvCode.code.like(f"{filters.cpv}%")))
    if filters.budget_min is not None:
        query = query.where(func.coalesce(Tender.budget_max, Tender.budget_min)
                            >= filters.budget_min)
    if filters.budget_max is not None:
        query = query.where(func.coalesce(Tender.budget_min, Tender.budget_max)
                            <= filters.budget_max)
    if filters.closing_soon:
        query = query.where(status_clause(TenderStatus.OPEN, now),
                            Tender.deadline <= now + CLOSING_SOON)

    town = find_town(filters.town) if filters.town else None
    distance = None
    if town is not None:
        distance = distance_expression(town.lat, town.lon)
        if filters.km:
            box = bounding_box(town.lat, town.lon, filters.km)
            query = query.where(and_(Tender.lat.between(box.min_lat, box.max_lat),
                                     Tender.lon.between(box.min_lon, box.max_lon)),
                                distance <= filters.km * filters.km)

    if filters.sort == "distance" and distance is not None:
        query = query.order_by(Tender.lat.is_(None), distance, Tender.id)
    elif filters.sort == "newest":
        query = query.order_by(Tender.published_at.desc(), Tender.id.desc())
    elif filters.sort == "budget":
        budget = func.coalesce(Tender.budget_max, Tender.budget_min)
        query = query.order_by(budget.is_(None), budget.desc(), Tender.id)
    else:
        query = query.order_by(Tender.deadline.is_(None), Tender.deadline, Tender.id)
    return query


def distance_km(tender: Tender, town_name: str | None) -> float | None:
    """Great-circle km from the filter town, for display."""
    from marketplace.geo import haversine_km

    town = find_town(town_name) if town_name else None
    if town is None or tender.lat is None or tender.lon is None:
        return None
    return haversine_km(town.lat, town.lon, tender.lat, tender.lon)
