#!/usr/bin/env python3
"""Search and matching benchmark on synthetic organisations.

Usage:
  python bench/search_bench.py --n 10000 [--queries 200] [--matches 50]
                               [--baseline-matches 5] [--no-baseline] [--keep DIR]

Generates N organisations deterministically (seeded): about 100 words of
description each, drawn with a Zipf law from the CPV label vocabulary plus
everyday business words and biased towards the labels of the firm's own
trade, 2-5 CPV codes around one trade, a town with coordinates and a
service radius.  Then, for the Guild engine and for a plain-Whoosh baseline:

* rebuild time and index size;
* warm p50/p95 latency of (a) 1-3 word searches (``query.search``: page 1
  with per-kind counts and highlights) and (b) tender -> top-20 matches
  (``matching.match_tender``; half of the tenders come without CPV codes);
* RSS of the serving process (a fresh subprocess that only opens the index
  and runs the queries, like a web worker).

The baseline is one writer with default settings, one text field and the
whole tender text as one OR query; its match queries are capped by
``--baseline-matches`` because each one is slow at 100k.
Prints a JSON summary and a Markdown table row.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.search import baseline, cpv
from marketplace.search.documents import organisation_document
from marketplace.search.index import build_index, current_generation

TOWNS = [
    ("Leeds", "Yorkshire", 53.80, -1.55), ("York", "Yorkshire", 53.96, -1.08),
    ("Sheffield", "Yorkshire", 53.38, -1.47), ("Hull", "Yorkshire", 53.74, -0.33),
    ("Manchester", "North West", 53.48, -2.24), ("Liverpool", "North West", 53.41, -2.98),
    ("Preston", "North West", 53.76, -2.70), ("Carlisle", "North West", 54.89, -2.93),
    ("Newcastle", "North East", 54.97, -1.61), ("Durham", "North East", 54.78, -1.57),
    ("Birmingham", "West Midlands", 52.49, -1.89), ("Coventry", "West Midlands", 52.41, -1.51),
    ("Nottingham", "East Midlands", 52.95, -1.15), ("Leicester", "East Midlands", 52.64, -1.13),
    ("Norwich", "East", 52.63, 1.30), ("Cambridge", "East", 52.21, 0.12),
    ("London", "London", 51.51, -0.13), ("Croydon", "London", 51.37, -0.10),
    ("Brighton", "South East", 50.82, -0.14), ("Oxford", "South East", 51.75, -1.26),
    ("Reading", "South East", 51.45, -0.97), ("Southampton", "South East", 50.90, -1.40),
    ("Bristol", "South West", 51.45, -2.59), ("Exeter", "South West", 50.72, -3.53),
    ("Plymouth", "South West", 50.37, -4.14), ("Cardiff", "Wales", 51.48, -3.18),
    ("Swansea", "Wales", 51.62, -3.94), ("Glasgow", "Scotland", 55.86, -4.25),
    ("Edinburgh", "Scotland", 55.95, -3.19), ("Aberdeen", "Scotland", 57.15, -2.09),
    ("Belfast", "Northern Ireland", 54.60, -5.93), ("Inverness", "Scotland", 57.48, -4.22),
]
COMMON = """service services provide provided providing support quality local team experience
experienced years clients customers projects project work works contract contracts
council councils schools school housing public private sector commercial domestic
residential maintenance repair repairs installation install design supply delivery
management manage planning safety health compliance standards certified accredited
qualified staff staffing professional specialist specialists including range wide small
medium family business company limited ltd offer offers based across region regional
national area areas within miles response emergency reliable efficient cost effective
value budget time delivered sites site buildings building new existing upgrade upgrades
improvement improvements environmental sustainable energy waste reduce carbon community
communities partner partners partnership framework frameworks tender tenders bid bids
approach customer""".split()  # noqa: SIM905
SIZES = ["micro", "small", "medium", "large"]
_WORD = re.compile(r"[a-z]{3,}")


def _vocab():
    vocab = cpv.load()
    codes = [c for c, p in vocab.prefixes.items() if len(p) >= 5]
    label_words = sorted({w for lab in vocab.labels.values() for w in _WORD.findall(lab.lower())})
    return codes, label_words


def generate(n: int, seed: int = 42):
    """Yield n synthetic organisation dicts (deterministic for a seed)."""
    rng = random.Random(seed)
    codes, label_words = _vocab()
    words = COMMON + label_words
    rng2 = random.Random(seed + 1)
    rng2.shuffle(words)
    zipf = [1.0 / (r + 1) ** 1.05 for r in range(len(words))]
    cum = []
    acc = 0.0
    for z in zipf:
        acc += z
        cum.append(acc)
    for i in range(n):
        trade = rng.choice(codes)
        same_div = [c for c in codes[max(0, codes.index(trade) - 40): codes.index(trade) + 40]
                    if c[:2] == trade[:2]]
        own = [trade, *rng.sample(same_div, min(len(same_div), rng.randint(1, 4)))]
        own = list(dict.fromkeys(own))
        trade_words = [w for c in own for w in _WORD.findall(cpv.label(c).lower())]
        body = rng.choices(words, cum_weights=cum, k=rng.randint(70, 110))
        body += rng.choices(trade_words or ["general"], k=rng.randint(8, 20))
        rng.shuffle(body)
        town, region, lat, lon = rng.choice(TOWNS)
        name = " ".join(w.title() for w in rng.sample(trade_words or ["general"], 1)) + \
            f" {rng.choice(['Services', 'Ltd', 'Group', 'Works', 'Solutions'])} {i}"
        yield {
            "id": i, "name": name, "description": " ".join(body),
            "capabilities": list(dict.fromkeys(rng.sample(trade_words, min(3, len(trade_words))))),
            "cpv_codes": own, "size": rng.choice(SIZES), "town": town, "region": region,
            "lat": lat + rng.uniform(-0.2, 0.2), "lon": lon + rng.uniform(-0.3, 0.3),
            "service_radius_km": rng.choice([15, 25, 40, 60, 100]),
            "certifications": rng.sample(["ISO 9001", "ISO 14001", "CHAS", "Cyber Essentials",
                                          "SafeContractor"], rng.randint(0, 2)),
            "track_record": rng.choice([0, 0, 0, 1, 2, 5]),
        }


def tenders(n: int, seed: int = 7):
    rng = random.Random(seed)
    orgs = list(generate(max(n * 3, 50), seed=seed + 100))
    out = []
    for i in range(n):
        o = rng.choice(orgs)
        words = o["description"].split()
        title = cpv.label(o["cpv_codes"][0]) or o["name"]
        t = {"id": f"t{i}", "title": title,
             "description": " ".join(rng.sample(words, min(60, len(words)))),
             "lat": o["lat"], "lon": o["lon"]}
        if i % 2 == 0:
            t["cpv_codes"] = o["cpv_codes"][:2]
        out.append(t)
    return out


def search_queries(n: int, seed: int = 11):
    rng = random.Random(seed)
    _, label_words = _vocab()
    pool = [w for w in COMMON + label_words if len(w) > 3]
    return [" ".join(rng.sample(pool, rng.randint(1, 3))) for _ in range(n)]


def du(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def pct(values, p):
    if not values:
        return None
    vs = sorted(values)
    k = min(len(vs) - 1, max(0, round(p / 100 * (len(vs) - 1))))
    return vs[k]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ------------------------------------------------------------------ serving

def serve(kind: str, path: str, nq: int, nm: int) -> dict:
    """Run in a fresh process: open the index and time the queries."""
    qs = search_queries(nq)
    ts = tenders(nm)
    res: dict = {"rss_start_mb": round(rss_mb(), 1)}
    if kind == "guild":
        from marketplace.search import matching
        from marketplace.search.index import open_index
        from marketplace.search.query import search

        ix = open_index(path)
        s = ix.searcher()
        for q in qs[:10]:
            search(s, q)
        for t in ts[:3]:
            matching.match_tender(s, t)
        lat = []
        for q in qs:
            t0 = time.perf_counter()
            search(s, q)
            lat.append((time.perf_counter() - t0) * 1000)
        mlat = []
        for t in ts:
            t0 = time.perf_counter()
            matching.match_tender(s, t, top=20)
            mlat.append((time.perf_counter() - t0) * 1000)
    else:
        s = baseline.open_searcher(path)
        for q in qs[:10]:
            baseline.search(s, q)
        lat = []
        for q in qs:
            t0 = time.perf_counter()
            baseline.search(s, q)
            lat.append((time.perf_counter() - t0) * 1000)
        mlat = []
        for t in ts:
            t0 = time.perf_counter()
            baseline.match(s, t)
            mlat.append((time.perf_counter() - t0) * 1000)
    res.update({
        "search_p50_ms": round(statistics.median(lat), 1),
        "search_p95_ms": round(pct(lat, 95), 1),
        "match_p50_ms": round(statistics.median(mlat), 1) if mlat else None,
        "match_p95_ms": round(pct(mlat, 95), 1) if mlat else None,
        "n_search": len(lat), "n_match": len(mlat),
        "rss_mb": round(rss_mb(), 1),
    })
    return res


def run_serve(kind, path, nq, nm):
    out = subprocess.check_output([sys.executable, __file__, "--serve", kind, path,
                                   "--queries", str(nq), "--matches", str(nm)])
    return json.loads(out.decode().strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--matches", type=int, default=50)
    ap.add_argument("--baseline-matches", type=int, default=5)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--keep", default=None, help="build into this folder and keep it")
    ap.add_argument("--serve", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        print(json.dumps(serve(args.serve[0], args.serve[1], args.queries, args.matches)))
        return 0

    work = args.keep or tempfile.mkdtemp(prefix="guild-bench-")
    summary: dict = {"n": args.n, "nproc": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        t0 = time.perf_counter()
        orgs = list(generate(args.n))
        summary["generate_s"] = round(time.perf_counter() - t0, 1)

        gpath = os.path.join(work, "guild")
        t0 = time.perf_counter()
        build_index(gpath, (organisation_document(o) for o in orgs))
        summary["guild_build_s"] = round(time.perf_counter() - t0, 1)
        summary["guild_size_mb"] = round(du(current_generation(gpath)) / 2**20, 1)
        summary["guild"] = run_serve("guild", gpath, args.queries, args.matches)

        if not args.no_baseline:
            bpath = os.path.join(work, "plain")
            t0 = time.perf_counter()
            baseline.build(bpath, orgs)
            summary["plain_build_s"] = round(time.perf_counter() - t0, 1)
            summary["plain_size_mb"] = round(du(bpath) / 2**20, 1)
            summary["plain"] = run_serve("plain", bpath, args.queries, args.baseline_matches)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    g, p = summary["guild"], summary.get("plain", {})
    print(f"| {args.n} | guild | {summary['guild_build_s']} s | {summary['guild_size_mb']} MB "
          f"| {g['search_p50_ms']}/{g['search_p95_ms']} ms "
          f"| {g['match_p50_ms']}/{g['match_p95_ms']} ms | {g['rss_mb']} MB |")
    if p:
        print(f"| {args.n} | plain | {summary['plain_build_s']} s | {summary['plain_size_mb']} MB "
              f"| {p['search_p50_ms']}/{p['search_p95_ms']} ms | {p['match_p50_ms']}/"
              f"{p['match_p95_ms']} ms (n={p['n_match']}) | {p['rss_mb']} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
