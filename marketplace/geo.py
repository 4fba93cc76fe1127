"""Distances on the Earth's surface, and the bounding boxes that let SQL prefilter by them."""

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
KM_PER_DEGREE_LAT = 111.32


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def is_valid_point(lat: float | None, lon: float | None) -> bool:
    return (lat is not None and lon is not None
            and -90 <= lat <= 90 and -180 <= lon <= 180)


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def bounding_box(lat: float, lon: float, radius_km: float) -> BoundingBox:
    """A lat/lon box that contains every point within radius_km of (lat, lon).

    It is a superset of the circle (corners included), so an SQL range check on it never
    drops a true match; the exact haversine test runs afterwards in Python. Boxes that would
    cross a pole or the antimeridian are widened to the full range instead of wrapping,
    which is still a superset and keeps the SQL a plain BETWEEN on any database.
    """
    dlat = radius_km / KM_PER_DEGREE_LAT
    min_lat, max_lat = lat - dlat, lat + dlat
    cos_lat = math.cos(math.radians(lat))
    if min_lat <= -90 or max_lat >= 90 or cos_lat < 1e-6:
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)
    # Longitude degrees shrink towards the poles; use the box edge nearest the pole.
    widest = max(abs(min_lat), abs(max_lat))
    dlon = radius_km / (KM_PER_DEGREE_LAT * math.cos(math.radians(widest)))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180 or max_lon > 180:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    return BoundingBox(min_lat, max_lat, min_lon, max_lon)
