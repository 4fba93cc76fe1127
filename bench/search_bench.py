#!/usr/bin/env python3
"""Search and matching benchmark on synthetic organisations.

Usage:
  python bench/search_bench.py --n 10000 [--queries 200] [--matches 50]
                               [--baseline-matches 5] [--engines guild,plain]
                               [--cache DIR] [--reuse] [--procs 1]

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

Bounded time at 100k: the generated organisations are cached as JSON lines
under ``--cache`` (default ``/tmp/guild-bench-cache``) and so are the built
indexes; ``--reuse`` serves an index already built there instead of building
it again (the build figures of that earlier run are read back from its
``build.json``).  Every latency is measured twice: wall clock and CPU time of
the serving process (``time.process_time``), because on a shared machine the
wall clock mostly measures the other processes.  The build reports wall and
CPU (its own and its writer sub-processes').
Prints a JSON summary and Markdown table rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
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
from marketplace.search.index import build_index, current_generation, is_current

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


# ------------------------------------------------------------------ data cache

def cached_orgs(n: int, cache: str) -> list[dict]:
    """The n generated organisations, from ``cache`` when generated before."""
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"orgs-{n}.jsonl")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    orgs = list(generate(n))
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for o in orgs:
            f.write(json.dumps(o) + "\n")
    os.replace(tmp, path)
    return orgs


def _cpu_all() -> float:
    """CPU seconds of this process and of its finished children."""
    own = time.process_time()
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + ch.ru_utime + ch.ru_stime


# ------------------------------------------------------------------ serving

def _timed(fn, *args, **kw) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn(*args, **kw)
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def _stats(prefix: str, pairs: list[tuple[float, float]]) -> dict:
    if not pairs:
        return {}
    wall = [w for w, _ in pairs]
    cpu = [c for _, c in pairs]
    return {f"{prefix}_p50_ms": round(statistics.median(wall), 1),
            f"{prefix}_p95_ms": round(pct(wall, 95), 1),
            f"{prefix}_cpu_p50_ms": round(statistics.median(cpu), 1),
            f"{prefix}_cpu_p95_ms": round(pct(cpu, 95), 1),
            f"n_{prefix}": len(pairs)}


def serve(kind: str, path: str, nq: int, nm: int) -> dict:
    """Run in a fresh process: open the index and time the queries."""
    qs = search_queries(nq)
    ts = tenders(nm)
    res: dict = {"rss_start_mb": round(rss_mb(), 1)}
    c0, t0 = time.process_time(), time.perf_counter()
    if kind == "guild":
        from marketplace.search import matching
        from marketplace.search.index import open_index
        from marketplace.search.query import search

        ix = open_index(path)
        s = ix.searcher()
        for q in qs[:10]:  # warm: caches per reader are built on first use
            search(s, q)
        for t in ts[:3]:
            matching.match_tender(s, t)
        res["warm_s"] = round(time.perf_counter() - t0, 2)
        res["warm_cpu_s"] = round(time.process_time() - c0, 2)
        lat = [_timed(search, s, q) for q in qs]
        mlat = [_timed(matching.match_tender, s, t, top=20) for t in ts]
    else:
        s = baseline.open_searcher(path)
        for q in qs[:10]:
            baseline.search(s, q)
        lat = [_timed(baseline.search, s, q) for q in qs]
        mlat = [_timed(baseline.match, s, t) for t in ts]
    res.update(_stats("search", lat))
    res.update(_stats("match", mlat))
    res["rss_mb"] = round(rss_mb(), 1)
    return res


def run_serve(kind, path, nq, nm):
    out = subprocess.check_output([sys.executable, __file__, "--serve", kind, path,
                                   "--queries", str(nq), "--matches", str(nm)])
    return json.loads(out.decode().strip().splitlines()[-1])


def _build(engine: str, folder: str, orgs: list[dict], procs: int, reuse: bool,
           limitmb: int) -> dict:
    info_path = os.path.join(folder, "build.json")
    stale = engine == "guild" and not is_current(os.path.join(folder, "index"))
    if reuse and os.path.exists(info_path) and not stale:
        with open(info_path, encoding="utf-8") as f:
            return dict(json.load(f), reused=True)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    c0, t0 = _cpu_all(), time.perf_counter()
    if engine == "guild":
        build_index(os.path.join(folder, "index"), (organisation_document(o) for o in orgs),
                    procs=procs, limitmb=limitmb)
        size = du(current_generation(os.path.join(folder, "index")))
    else:
        baseline.build(os.path.join(folder, "index"), orgs)
        size = du(os.path.join(folder, "index"))
    info = {"build_s": round(time.perf_counter() - t0, 1),
            "build_cpu_s": round(_cpu_all() - c0, 1),
            "size_mb": round(size / 2**20, 1), "procs": procs if engine == "guild" else 1,
            "limitmb": limitmb if engine == "guild" else 128,
            "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "loadavg_after": round(os.getloadavg()[0], 1)}
    with open(info_path, "w", encoding="utf-8") as f:
        json.dump(info, f)
    return info


def _row(n: int, name: str, d: dict) -> str:
    m = f"{d.get('match_p50_ms')}/{d.get('match_p95_ms')} ms " \
        f"(CPU {d.get('match_cpu_p50_ms')}/{d.get('match_cpu_p95_ms')})"
    return (f"| {n:,} | {name} | {d['build_s']} s (CPU {d['build_cpu_s']} s) | {d['size_mb']} MB "
            f"| {d.get('search_p50_ms')}/{d.get('search_p95_ms')} ms "
            f"(CPU {d.get('search_cpu_p50_ms')}/{d.get('search_cpu_p95_ms')}) "
            f"| {m} n={d.get('n_match')} | {d.get('rss_mb')} MB |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--matches", type=int, default=50)
    ap.add_argument("--baseline-matches", type=int, default=5)
    ap.add_argument("--engines", default="guild,plain", help="guild and/or plain")
    ap.add_argument("--no-baseline", action="store_true", help="same as --engines guild")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "guild-bench-cache"))
    ap.add_argument("--reuse", action="store_true", help="serve indexes built by an earlier run")
    ap.add_argument("--procs", type=int, default=1, help="writer processes of the guild build")
    ap.add_argument("--limitmb", type=int, default=512, help="writer memory per process")
    ap.add_argument("--serve", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        print(json.dumps(serve(args.serve[0], args.serve[1], args.queries, args.matches)))
        return 0
    engines = ["guild"] if args.no_baseline else [
        e.strip() for e in args.engines.split(",") if e.strip()]

    summary: dict = {"n": args.n, "nproc": os.cpu_count(), "python": sys.version.split()[0],
                     "loadavg_start": round(os.getloadavg()[0], 1)}
    t0 = time.perf_counter()
    orgs = cached_orgs(args.n, args.cache)
    summary["generate_or_load_s"] = round(time.perf_counter() - t0, 1)
    for engine in engines:
        folder = os.path.join(args.cache, f"{engine}-{args.n}")
        info = _build(engine, folder, orgs, args.procs, args.reuse, args.limitmb)
        nm = args.matches if engine == "guild" else args.baseline_matches
        info.update(run_serve(engine, os.path.join(folder, "index"), args.queries, nm))
        summary[engine] = info
    summary["loadavg_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(summary, indent=2))
    for engine in engines:
        print(_row(args.n, engine, summary[engine]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
