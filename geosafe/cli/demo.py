"""``geosafe demo``: the main job on the bundled data.

1. Generate the synthetic DIR, ASIF, CRIS and FAP files for the demo area (``geosafe synth``),
   twelve months ending with the last bundled police.uk month (``--end``), so that the
   default view (the last 12 months) holds real and synthetic records alike.
2. Import them, and every bundled police.uk burglary month, into the demo store
   (``geosafe import``; re-running is a no-op for files already imported).
3. Print a summary (rows, accepted, quarantined, no location, per source), and upload the
   synthetic school rolls (``geosafe roll upload``; home postcodes per demo school).
4. Create one access token per role and print them.
5. Serve the API and the map page (``geosafe serve``) unless ``--no-serve``.

It drives the other subcommands through their documented command-line contracts, so the demo
exercises exactly what users and scripts run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import datasets

log = logging.getLogger(__name__)

_SYNTH_FILES = (("dir", "dir.csv"), ("asif", "asif.csv"), ("cris", "cris.csv"), ("fap", "fap.csv"))
_POLICE_MONTH = re.compile(r"^(\d{4}-\d{2})-[a-z0-9-]+-street\.csv(?:\.gz)?$")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``geosafe demo``."""
    p = sub.add_parser(
        "demo",
        help="build the demo store from the bundled data and serve the map",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--dir", type=Path, default=Path("out/demo"), help="working folder (default out/demo)"
    )
    p.add_argument("--seed", type=int, default=42, help="seed of the synthetic generator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-serve", action="store_true", help="build and summarise only")
    p.set_defaults(func=_run)


def _call(argv: Sequence[str], *, quiet: bool = False) -> tuple[int, str]:
    """Run a ``geosafe`` subcommand in process, returning its exit code and stdout
    (``quiet``: its stderr is kept back too, and shown only if it fails)."""
    from . import main

    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err if quiet else sys.stderr):
        code = main(list(argv))
    if quiet and code != 0:
        print(err.getvalue(), end="", file=sys.stderr)
    return code, buf.getvalue()


def last_police_month(files: Sequence[Path]) -> str | None:
    """The last month (``YYYY-MM``) of police.uk files named as police.uk names them
    (``2024-02-metropolitan-street.csv.gz``); ``None`` without any. The demo's synthetic
    year ends with it, so the default view (the last 12 months) holds real and synthetic
    records alike and a period compares like for like."""
    months = sorted(m.group(1) for f in files if (m := _POLICE_MONTH.match(Path(f).name)))
    return months[-1] if months else None


def _check_synthetic_year(synth_dir: Path, end: str | None) -> None:
    """Warn when synthetic files already there (an earlier demo's) end in another month."""
    readme = synth_dir / "README-SYNTHETIC.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    found = re.search(r"^- period: (\d{4}-\d{2})-\d{2} to (\d{4}-\d{2})-\d{2}$", text, re.M)
    if end and found and found.group(2) != end:
        log.warning(
            "the synthetic files in %s cover %s to %s, but the bundled police.uk months end in "
            "%s, so the two never overlap; remove %s (and its store) to rebuild the demo",
            synth_dir,
            found.group(1),
            found.group(2),
            end,
            synth_dir.parent,
        )


def _run(args: argparse.Namespace) -> int:
    work: Path = args.dir
    work.mkdir(parents=True, exist_ok=True)
    db = work / "geosafe.db"
    synth_dir = work / "synthetic"

    police = datasets.police_files()
    end = last_police_month(police)
    if not all((synth_dir / name).exists() for _, name in _SYNTH_FILES):
        argv = ["synth", "--out", str(synth_dir), "--seed", str(args.seed)]
        code, _ = _call([*argv, "--end", end] if end else argv)
        if code != 0:
            return code
    else:
        _check_synthetic_year(synth_dir, end)

    _demo_person_key(work)
    results: list[dict[str, Any]] = []
    inputs = [(src, synth_dir / name) for src, name in _SYNTH_FILES]
    inputs += [("police-uk", f) for f in police]
    for source, path in inputs:
        code, out = _call(["import", source, str(path), "--db", str(db)])
        if code != 0:
            print(f"geosafe demo: import of {str(path)!r} failed (exit {code})", file=sys.stderr)
            return code
        for line in out.splitlines():
            if line.strip().startswith("{"):
                results.append(json.loads(line))

    _print_summary(results, db)

    # synthetic school rolls (home postcodes per demo school): origins of the corridors
    for roll in sorted((synth_dir / "rolls").glob("*.csv")):
        code, out = _call(["roll", "upload", "--school", roll.stem, str(roll), "--db", str(db)])
        if code != 0:
            print(
                f"geosafe demo: roll upload of {str(roll)!r} failed (exit {code})", file=sys.stderr
            )
            return code
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"roll {r['school_urn']} (synthetic): {r['pupils']} pupils, {r['postcodes']} postcodes"
        )

    tokens: dict[str, str] = {}
    demo_school = datasets.schools(demo_only=True).sort_values("name").iloc[0]
    ward_codes = _demo_wards()
    for role, extra in (
        ("analyst", []),
        ("school", ["--school", str(demo_school["urn"])]),
        ("neighbourhood", ["--area", ",".join(ward_codes)]),
    ):
        code, out = _call(  # its "shown once" line would stand alone: the tokens come below
            ["token", "create", "--db", str(db), "--role", role, "--label", f"demo {role}", *extra],
            quiet=True,
        )
        if code == 0 and out.strip():
            tokens[role] = out.strip().splitlines()[-1]
    print("\nDemo access tokens (shown once):")
    for role, token in tokens.items():
        scope = {
            "school": f" (school {demo_school['urn']} {demo_school['name']})",
            "neighbourhood": f" (wards {','.join(ward_codes)})",
        }.get(role, "")
        print(f"  {role:<14}{token}{scope}")

    if args.no_serve:
        return 0
    print(f"\nServing http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    # `geosafe serve` in a fresh interpreter, in this process's place (same process id): the
    # imports above loaded pandas and the import path, which a server does not need
    import os

    sys.stderr.flush()
    serve = ["serve", "--db", str(db), "--host", args.host, "--port", str(args.port)]
    os.execv(sys.executable, [sys.executable, "-m", "geosafe", *serve])
    return 0  # pragma: no cover (execv does not return)


def _demo_person_key(work: Path) -> None:
    """The synthetic files name (made-up) people: without a configured person key, use a
    demo key file beside the demo store (mode 0600), made once."""
    import os
    import secrets

    if os.environ.get("GEOSAFE_PERSON_KEY_FILE") or os.environ.get("GEOSAFE_PERSON_KEY"):
        return
    key = work / "person.key"
    if not key.exists():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    os.environ["GEOSAFE_PERSON_KEY_FILE"] = str(key)
    log.warning("demo: person references re-keyed with %s (GEOSAFE_PERSON_KEY_FILE)", key)


def _demo_wards() -> list[str]:
    wards = datasets.wards()
    area = datasets.demo_area()
    inside = wards[wards.intersects(area.centroid.buffer(1500))]
    return sorted(inside["gss_code"])[:4]


def _print_summary(results: list[dict[str, Any]], db: Path) -> None:
    totals: dict[str, dict[str, int]] = {}
    for r in results:
        t = totals.setdefault(
            r["source"], {"files": 0, "rows": 0, "accepted": 0, "quarantined": 0, "no_location": 0}
        )
        t["files"] += 1
        for key in ("rows", "accepted", "quarantined", "no_location"):
            t[key] += int(r.get(key) or 0)
    print(f"Demo store: {db}")
    print(
        f"{'source':<18}{'files':>6}{'rows':>9}{'accepted':>10}{'quarantined':>13}{'no location':>13}"
    )
    for source, t in totals.items():
        label = source + (" (synthetic)" if source in {"dir", "asif", "cris", "fap"} else " (real)")
        print(
            f"{label:<18}{t['files']:>6}{t['rows']:>9}{t['accepted']:>10}{t['quarantined']:>13}{t['no_location']:>13}"
        )
