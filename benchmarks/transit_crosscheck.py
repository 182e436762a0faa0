"""Cross-check the RAPTOR router against MOTIS nigiri (pynigiri) on the three real feeds.

Usage::

    .venv/bin/python benchmarks/transit_crosscheck.py [--answered 1000] [--seed 0] [--json FILE]

For each feed in ``../shared/data/gtfs`` (caltrain_2017, trimet_vermont_2018,
london_route_403) and the estimated demo-area feed in ``data/gtfs``, random stop-to-stop earliest-arrival queries are drawn until
``--answered`` of them have a journey in at least one engine; arrivals are compared to the
minute. The matched rules (unique stop names, no generated footpaths, no transfers.txt, no
blocks, times truncated to minutes) are described in ``tests/transit/nigiri_ref.py``. Every
difference is listed with its explanation; the script exits 1 if any is unexplained or the
agreement on the queries without an explained difference is below 99%.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.transit.nigiri_ref import crosscheck  # noqa: E402

FEEDS = ("caltrain_2017", "trimet_vermont_2018", "london_route_403", "demo_area_estimated")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answered", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gtfs-root", type=Path, default=ROOT.parent / "shared" / "data" / "gtfs")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    args = parser.parse_args()
    ok = True
    results = []
    total_answered = total_agree = total_dst = 0
    for name in FEEDS:
        t0 = time.perf_counter()
        src = (
            (ROOT / "data" / "gtfs" / name)
            if name == "demo_area_estimated"
            else (args.gtfs_root / name)
        )
        res = crosscheck(src, answered=args.answered, seed=args.seed)
        dst = sum(1 for d in res.differences if d["explanation"] is not None)
        total_answered += res.answered
        total_agree += res.agree
        total_dst += dst
        outside = (res.agree) / max(1, res.answered - dst)
        print(
            f"{name}: {res.queries} queries drawn, {res.answered} answered by at least one "
            f"engine, same arrival minute {res.agree} ({100 * res.agreement:.1f}%); "
            f"differences {len(res.differences)} (only ours {res.only_ours}, only nigiri "
            f"{res.only_nigiri}); explained {dst}; agreement on the rest "
            f"{100 * outside:.2f}%; unexplained {len(res.unexplained)} "
            f"[{time.perf_counter() - t0:.1f} s]"
        )
        for d in res.differences:
            print(f"    {d}")
        ok &= not res.unexplained and outside >= 0.99
        results.append(
            {
                "feed": name,
                "queries": res.queries,
                "answered": res.answered,
                "agree": res.agree,
                "differences": res.differences,
            }
        )
    print(
        f"ALL: {total_answered} answered, {total_agree} agree "
        f"({100 * total_agree / total_answered:.2f}%), {total_dst} explained differences "
        f"(DST change days; frequency trips after midnight), agreement on the rest "
        f"{100 * total_agree / (total_answered - total_dst):.2f}%"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
