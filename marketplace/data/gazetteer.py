"""Gazetteer of West of England towns used for demo data and distance search."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Town:
    name: str
    county: str
    region: str
    postcode_district: str
    lat: float
    lon: float


@lru_cache(maxsize=1)
def _towns() -> tuple[Town, ...]:
    text = resources.files(__package__).joinpath("gazetteer.csv").read_text(encoding="utf-8")
    return tuple(
        Town(
            name=row["name"],
            county=row["county"],
            region=row["region"],
            postcode_district=row["postcode_district"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
        )
        for row in csv.DictReader(io.StringIO(text))
    )


@lru_cache(maxsize=1)
def _by_name() -> dict[str, Town]:
    return {town.name.casefold(): town for town in _towns()}


def load_gazetteer() -> list[Town]:
    # A fresh list so callers cannot mutate the cached data.
    return list(_towns())


def find_town(name: str) -> Town | None:
    return _by_name().get(name.strip().casefold())
