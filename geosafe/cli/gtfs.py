"""`geosafe` subcommands for bus timetables: ``route``, ``gtfs-validate``, ``gtfs-build``.

``geosafe route --gtfs DIR --from-stop ID --to-stop ID (--depart HH:MM | --arrive-by HH:MM)
--date YYYY-MM-DD --format json`` prints ``{"departure_s", "arrival_s", "legs": [...]}``,
times in seconds after midnight of the service day; with no journey ``"arrival_s"`` is
null and the exit code is still 0.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, cast

from .._errors import ValidationError
from ._args import date_arg

__all__ = ["register"]


def _hhmm(text: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text.strip())
    if not m or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
        msg = f"time {text!r} is not HH:MM (e.g. 08:45; hours may exceed 23 for after midnight)"
        raise argparse.ArgumentTypeError(msg)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)


def _route(args: argparse.Namespace) -> int:
    from ..network.transit import RaptorRouter, TransitSettings

    settings = TransitSettings()
    router = RaptorRouter(
        args.gtfs,
        max_transfers=settings.max_transfers if args.max_transfers is None else args.max_transfers,
        min_transfer_s=settings.min_transfer_s
        if args.min_transfer_s is None
        else args.min_transfer_s,
        transfer_walk_m=(
            settings.transfer_walk_m if args.transfer_walk_m is None else args.transfer_walk_m
        ),
        max_walk_m=settings.max_walk_m,
        cache_dir=None if args.no_cache else settings.cache_dir,
    )
    for name, stop in (("--from-stop", args.from_stop), ("--to-stop", args.to_stop)):
        if stop not in router.stop_index:
            msg = (
                f"`{name}` {stop!r} is not a stop_id of {args.gtfs!r}; pick one from its stops.txt."
            )
            raise ValidationError(msg)
    if args.depart is not None:
        journey = router.earliest_arrival(
            args.from_stop, args.to_stop, depart_s=args.depart, date=args.date
        )
    else:
        journey = router.arrive_by(
            args.from_stop, args.to_stop, arrive_s=args.arrive_by, date=args.date
        )
    if journey is None:
        out: dict[str, object] = {
            "departure_s": args.depart,
            "arrival_s": None,
            "legs": [],
            "date": args.date.isoformat(),
        }
    else:
        out = journey.to_dict()
    out["estimated_timetable"] = router.feed.is_estimated
    if args.format == "json":
        print(json.dumps(out))
    else:
        print(_text(out))
    return 0


def _clock(s: object) -> str:
    if not isinstance(s, int):
        return "--:--"
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _text(out: dict[str, object]) -> str:
    if out["arrival_s"] is None:
        return "no journey"
    lines = [f"depart {_clock(out['departure_s'])}  arrive {_clock(out['arrival_s'])}"]
    legs = cast(list[dict[str, Any]], out["legs"])
    for leg in legs:
        what = (
            f"route {leg['route']}, {len(leg['stops']) - 1} stops" if leg["mode"] == "bus" else ""
        )
        lines.append(
            f"  {_clock(leg['depart_s'])}-{_clock(leg['arrive_s'])} {leg['mode']:<4} "
            f"{leg['from_stop'] or 'origin'} -> {leg['to_stop'] or 'destination'} {what}"
        )
    if out.get("estimated_timetable"):
        lines.append("  (ESTIMATED timetable: times are estimates, not TfL's)")
    return "\n".join(lines)


def _validate(args: argparse.Namespace) -> int:
    from ..network.gtfs import validate_feed

    report = validate_feed(args.gtfs)
    print(json.dumps(report.to_dict(), indent=1) if args.format == "json" else report.format())
    return 0 if report.ok else 2


def _build(args: argparse.Namespace) -> int:
    from ..network.gtfs_build import build_demo_feed

    out = build_demo_feed(args.out)
    print(f"wrote the ESTIMATED demo-area GTFS feed to {out}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser(
        "route",
        help="earliest-arrival or arrive-by bus journey between two stops of a GTFS feed",
        description="Journey between two stops; times in seconds after midnight of the "
        "service day. No journey: arrival_s is null (exit 0).",
    )
    p.add_argument("--gtfs", required=True, help="GTFS feed directory or .zip")
    p.add_argument("--from-stop", required=True, help="origin stop_id")
    p.add_argument("--to-stop", required=True, help="destination stop_id")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--depart", type=_hhmm, help="leave at HH:MM")
    when.add_argument("--arrive-by", type=_hhmm, help="arrive by HH:MM (latest departure)")
    p.add_argument("--date", required=True, type=date_arg, help="service day YYYY-MM-DD")
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument("--max-transfers", type=int, default=None, help="default 6")
    p.add_argument("--min-transfer-s", type=int, default=None, help="same-stop change, s (120)")
    p.add_argument(
        "--transfer-walk-m", type=float, default=None, help="longest walk between stops, m (250)"
    )
    p.add_argument(
        "--no-cache", action="store_true", help="do not cache the cleaned feed (GEOSAFE_CACHE_DIR)"
    )
    p.set_defaults(func=_route)

    v = sub.add_parser("gtfs-validate", help="check a GTFS feed and report what would be dropped")
    v.add_argument("gtfs", help="GTFS feed directory or .zip")
    v.add_argument("--format", choices=("json", "text"), default="text")
    v.set_defaults(func=_validate)

    b = sub.add_parser(
        "gtfs-build", help="build the ESTIMATED demo-area GTFS feed from TfL route sequences"
    )
    b.add_argument(
        "--out", default=None, help="output directory (default data/gtfs/demo_area_estimated)"
    )
    b.set_defaults(func=_build)
