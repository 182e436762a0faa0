"""`geosafe` subcommands: ingest.

- ``geosafe import SOURCE FILE... [--db PATH] [--aoi FILE] [--aoi-margin M] [--column-map
  FILE.json] [--force]`` prints one JSON object per file: ``{"source", "file_sha256", "rows",
  "accepted", "quarantined", "no_location", "duplicate_batch", "batch_id", "updated",
  "located_preferred", "ignored_columns", "duplicate_reason"}``; exit 2 with a message on stderr and
  nothing on stdout when the (first unusable) file cannot be used. For ``police-uk`` a
  directory stands for its ``*.csv``/``*.csv.gz`` files.
- ``geosafe quarantine [--db PATH] [--batch ID] [--format json|table] [--export FILE]``.
- ``geosafe batch list`` / ``geosafe batch rollback ID``.
- ``geosafe template SOURCE [--out FILE] [--describe]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from .._env import DB_HINT, audit_path, ingest_settings, store_exists, store_target
from .._errors import ImportFileError, ValidationError

__all__ = ["register"]

_SOURCES = ("dir", "asif", "cris", "fap", "police-uk", "people")


def _db(args: argparse.Namespace) -> Path | str:
    """``--db``, else ``GEOSAFE_DB``, else the StoreSettings default (a path or a URL)."""
    return store_target(getattr(args, "db", None))


def _open(args: argparse.Namespace, *, must_exist: bool = True) -> Any:
    from ..store import open_store

    path = _db(args)
    if must_exist and not store_exists(path):
        msg = f"store {str(path)!r} does not exist; {DB_HINT}."
        raise ValidationError(msg)
    return open_store(path)


def _files(source: str, given: list[str]) -> list[Path]:
    out: list[Path] = []
    for name in given:
        p = Path(name)
        if p.is_dir() and source == "police-uk":
            found = sorted([*p.glob("*.csv"), *p.glob("*.csv.gz")])
            if not found:
                msg = f"directory {name!r} holds no .csv or .csv.gz files."
                raise ImportFileError(msg)
            out.extend(found)
        else:
            out.append(p)
    return out


def _after_import(args: argparse.Namespace, result: Any) -> None:
    """The one place where a finished import's result is known: audit it (and the rollback
    ``--force`` made), and say on stderr why a duplicate did nothing."""
    from ..access.audit import record_import

    if result.replaced_batch is not None:
        _audit_rollback(args, result.replaced_batch, result.source, "geosafe import --force")
    record_import(_db(args), result)
    if result.duplicate_batch and result.duplicate_reason:
        print(f"geosafe import: {result.duplicate_reason}", file=sys.stderr)


def _import(args: argparse.Namespace) -> int:
    from ..ingest import import_file, load_aoi
    from ..sources import normalise_source
    from ..sources._read import load_column_map

    key = normalise_source(args.source)
    files = _files(args.source, args.files)
    for p in files:  # check every path before importing any
        if not p.is_file():
            msg = f"{str(p)!r} is not a file; check the path."
            raise ImportFileError(msg)
    aoi = load_aoi(args.aoi) if args.aoi else None
    cmap = load_column_map(args.column_map, key) if args.column_map else None
    settings = ingest_settings()
    if args.aoi_margin is not None:
        settings = settings.model_copy(update={"aoi_margin_m": args.aoi_margin})
    store = _open(args, must_exist=False)
    try:
        for p in files:
            with _progress(p) as bar:
                result = import_file(
                    store,
                    key,
                    p,
                    aoi=aoi,
                    settings=settings,
                    column_map=cmap,
                    progress=bar.update,
                    force=args.force,
                )
            _after_import(args, result)
            print(json.dumps(result.to_json()), flush=True)
    finally:
        store.close()
    return 0


def _metres(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        msg = f"`--aoi-margin` {text!r} is not a distance in metres; pass e.g. `--aoi-margin 250`."
        raise argparse.ArgumentTypeError(msg)
    return value


class _NoBar:
    """What a progress bar is when stderr is not a terminal (tqdm not even imported)."""

    def update(self, n: int) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


class _progress:
    """A tqdm bar on stderr, off when stderr is not a terminal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            self.bar: Any = _NoBar()
            return self.bar
        from tqdm import tqdm

        self.bar = tqdm(
            desc=self.path.name,
            unit=" rows",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            leave=False,
        )
        return self.bar

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _quarantine(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        records = store.quarantine(args.batch)
    finally:
        store.close()
    from ..access.audit import AuditLog, cli_actor

    AuditLog(audit_path(_db(args))).record(
        "export" if args.export else "read",
        label=cli_actor(),
        role="operator",
        endpoint="geosafe quarantine",
        params={"batch": args.batch, "export": args.export},
        records=len(records),
    )
    if args.export:
        n = export_quarantine(records, Path(args.export))
        print(f"wrote {n} quarantined row(s) to {args.export}", file=sys.stderr)
        return 0
    if args.format == "json":
        for r in records:
            print(json.dumps(r.to_json(), ensure_ascii=False))
    else:
        print(f"{'batch':>5} {'row':>6} {'line':>6}  {'reason_code':<22} {'column':<24} reason")
        for r in records:
            line = "-" if r.line is None else r.line
            print(
                f"{r.batch_id:>5} {r.row:>6} {line:>6}  {r.reason_code:<22} "
                f"{(r.column or '-'):<24} {r.reason}"
            )
    return 0


def export_quarantine(records: list[Any], path: Path) -> int:
    """Write quarantined rows as they came in, plus ``batch_id, row, reason_code, column,
    reason`` and ``line`` (where the row starts in its file; empty for a batch imported before
    lines were kept); every text cell CSV-injection-escaped. Returns the number of rows."""
    from .._validate import csv_escape

    header: list[str] = []
    for r in records:
        for k in r.raw:
            if k not in header:
                header.append(k)
    extra = ["_batch_id", "_row", "_reason_code", "_column", "_reason", "_line"]
    # surrogateescape writes undecodable input bytes back exactly as they came in
    with path.open("w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([csv_escape(h) for h in header + extra])
        for r in records:
            values = [r.raw.get(h, "") for h in header]
            values += [r.batch_id, r.row, r.reason_code, r.column or "", r.reason]
            values.append("" if r.line is None else r.line)
            writer.writerow([csv_escape(v) for v in values])
    return len(records)


def _batch_list(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        batches = store.batches(include_aborted=args.all)
    finally:
        store.close()
    if args.format == "json":
        for b in batches:
            print(json.dumps({k: getattr(b, k) for k in b.__slots__}))
        return 0
    print(
        f"{'id':>4}  {'source':<9} {'status':<11} {'rows':>8} {'accepted':>8} {'quar.':>6} {'no_loc':>6} {'upd.':>5}  file"
    )
    for b in batches:
        print(
            f"{b.batch_id:>4}  {b.source:<9} {b.status:<11} {b.rows:>8} {b.accepted:>8} "
            f"{b.quarantined:>6} {b.no_location:>6} {b.updated:>5}  {b.file_name or ''}"
        )
    return 0


def _batch_rollback(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        batch = store.rollback(args.batch_id)
    finally:
        store.close()
    _audit_rollback(args, batch.batch_id, batch.source, "geosafe batch rollback", batch.accepted)
    print(
        f"rolled back batch {batch.batch_id} ({batch.source}, {batch.accepted} incidents removed)"
    )
    return 0


def _audit_rollback(
    args: argparse.Namespace, batch_id: int, source: str, endpoint: str, records: int = 0
) -> None:
    from ..access.audit import AuditLog, cli_actor

    AuditLog(audit_path(_db(args))).record(
        "erase",
        label=cli_actor(),
        role="operator",
        endpoint=endpoint,
        params={"batch_id": batch_id, "source": source.replace("-", "_")},
        records=records,
    )


def _template(args: argparse.Namespace) -> int:
    from ..sources import describe, template_csv

    if args.describe:
        text = describe(args.source)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    csv_text = template_csv(args.source)
    if args.out:
        out = Path(args.out)
        out.write_text(csv_text, encoding="utf-8", newline="")
        doc = out.with_name(out.name + ".md")
        doc.write_text(describe(args.source), encoding="utf-8")
        print(f"wrote {out} and its documentation {doc}", file=sys.stderr)
    else:
        sys.stdout.write(csv_text)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser("import", help="import DIR/ASIF/CRIS/FAP/police.uk files into the store")
    p.add_argument("source", choices=_SOURCES)
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help=".csv, .csv.gz or .xlsx (police-uk: also a directory)",
    )
    p.add_argument("--db", help="incident store (default: GEOSAFE_DB or ./geosafe.db)")
    p.add_argument("--aoi", help="area of interest (vector file); default Greater London")
    p.add_argument("--column-map", help='JSON {"local column": "standard column"}')
    p.add_argument(
        "--aoi-margin",
        type=_metres,
        metavar="M",
        help="accept points up to M metres outside the area of interest "
        "(default GEOSAFE_INGEST_AOI_MARGIN_M or 250)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="when the same bytes were imported before, roll that batch back and import again "
        "(e.g. with another encoding or column map)",
    )
    p.set_defaults(func=_import)

    q = sub.add_parser("quarantine", help="list or export quarantined rows")
    q.add_argument("--db")
    q.add_argument("--batch", type=int, help="only this batch")
    q.add_argument("--format", choices=("json", "table"), default="table")
    q.add_argument(
        "--export", metavar="FILE", help="write the rows as they came in plus reasons (CSV)"
    )
    q.set_defaults(func=_quarantine)

    b = sub.add_parser("batch", help="import batches")
    bsub = b.add_subparsers(dest="batch_command", metavar="ACTION")
    bsub.required = True
    bl = bsub.add_parser("list", help="list import batches")
    bl.add_argument("--db")
    bl.add_argument("--format", choices=("json", "table"), default="table")
    bl.add_argument("--all", action="store_true", help="also aborted batches")
    bl.set_defaults(func=_batch_list)
    br = bsub.add_parser("rollback", help="remove a batch's incidents (the record is kept)")
    br.add_argument("batch_id", type=int)
    br.add_argument("--db")
    br.set_defaults(func=_batch_rollback)

    t = sub.add_parser("template", help="write an import template (CSV header + example row)")
    t.add_argument("source", choices=_SOURCES)
    t.add_argument("--out", help="CSV file to write (and FILE.md documenting it)")
    t.add_argument(
        "--describe", action="store_true", help="print the column and code documentation"
    )
    t.set_defaults(func=_template)
