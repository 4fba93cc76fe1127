#!/usr/bin/env python3
"""Evaluate the matcher on a development set.

Usage:
  python bench/eval_dev.py DATASET_DIR [--output run.tsv] [--baseline]
                           [--set NAME=VALUE ...]

DATASET_DIR holds businesses.jsonl and tenders.jsonl (DESIGN.md interchange
formats) and the judgements that /work/shared/tools/eval_matching.py reads.
The businesses are indexed into a temporary index with
``marketplace.search.documents`` and ``marketplace.search.index``; every
tender is matched with ``match_tender`` (top 20) and the run is written as
TSV (``tender_id  business_id  rank  score``).  ``--baseline`` uses the plain
Whoosh baseline instead (whole tender text as one OR query).  ``--set``
overrides a field of ``matching.Weights`` (for tuning on dev sets only).
The script then runs the evaluation tool and prints its metrics.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.search import baseline, matching
from marketplace.search.documents import organisation_document
from marketplace.search.index import build_index, open_index

EVAL_TOOL = os.environ.get("GUILD_EVAL_TOOL", "/work/shared/tools/eval_matching.py")


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def parse_overrides(items: list[str]) -> matching.Weights:
    kw = {}
    types = {f.name: f.type for f in dataclasses.fields(matching.Weights)}
    for item in items:
        k, _, v = item.partition("=")
        if k not in types:
            sys.exit(f"unknown weight {k!r}; known: {', '.join(types)}")
        kw[k] = int(v) if types[k] in ("int", int) else float(v)
    return dataclasses.replace(matching.DEFAULT_WEIGHTS, **kw)


def run_matcher(businesses, tenders, weights, top=20):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        build_index(tmp, (organisation_document(b) for b in businesses), procs=1)
        ix = open_index(tmp)
        with ix.searcher() as s:
            for t in tenders:
                for rank, m in enumerate(matching.match_tender(s, t, top=top, weights=weights), 1):
                    bid = m.doc_id.split(":", 1)[1]
                    rows.append((t["id"], bid, rank, m.score))
        ix.close()
    return rows


def run_baseline(businesses, tenders, top=20):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        baseline.build(tmp, businesses)
        s = baseline.open_searcher(tmp)
        for t in tenders:
            for rank, (bid, score) in enumerate(baseline.match(s, t, top=top), 1):
                rows.append((t["id"], bid, rank, score))
        s.close()
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--output", "-o", default=None)
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--json", action="store_true", help="print metrics as JSON")
    args = ap.parse_args(argv)

    businesses = load_jsonl(args.dataset / "businesses.jsonl")
    tenders = load_jsonl(args.dataset / "tenders.jsonl")
    t0 = time.perf_counter()
    if args.baseline:
        rows = run_baseline(businesses, tenders)
    else:
        rows = run_matcher(businesses, tenders, parse_overrides(args.set))
    elapsed = time.perf_counter() - t0
    out = args.output or tempfile.mkstemp(suffix=".tsv")[1]
    with open(out, "w", encoding="utf-8") as f:
        f.write("tender_id\tbusiness_id\trank\tscore\n")
        for tid, bid, rank, score in rows:
            f.write(f"{tid}\t{bid}\t{rank}\t{score:.6f}\n")
    print(f"# {'baseline' if args.baseline else 'matcher'}: {len(tenders)} tenders, "
          f"{len(businesses)} businesses, {elapsed:.1f} s, run written to {out}",
          file=sys.stderr)
    cmd = [sys.executable, EVAL_TOOL, str(args.dataset), out]
    if args.json:
        cmd.append("--json")
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
