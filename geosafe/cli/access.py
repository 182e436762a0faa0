"""`geosafe` subcommands: access (tokens, audit log, erasure, retention).

- ``geosafe token create --role ROLE [--school URN | --area CODES|FILE] [--expires DAYS]
  [--label TEXT] [--purpose TEXT] [--rate-per-minute N]`` prints the token alone on its last line, once;
- ``geosafe token revoke ID_OR_LABEL``, ``geosafe token list``;
- ``geosafe audit`` shows the audit log (``--verify`` checks its hash chain);
- ``geosafe erase --source S --ref R`` removes a record everywhere it is stored (audited);
- ``geosafe purge`` removes incidents older than the retention period (audited);
- ``geosafe access-setup --db URL --service-role R --audit-role A`` (PostgreSQL, as the
  database owner) creates the access and audit schemas and grants the two roles.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .. import periods
from .._errors import ValidationError
from ..access import audit as audit_mod
from ..access import tokens as auth
from ..access.db import is_postgres
from ..incident import SOURCES
from ..settings import StoreSettings

if TYPE_CHECKING:
    from ..store import IncidentStore

__all__ = ["register"]


def _store_settings(args: argparse.Namespace) -> StoreSettings:
    kwargs: dict[str, object] = {}
    if getattr(args, "db", None) is not None:
        kwargs["db"] = args.db
    if getattr(args, "audit_db", None) is not None:
        kwargs["audit_db"] = _path_or_url(args.audit_db)
    return StoreSettings(**kwargs)  # type: ignore[arg-type]


def _path_or_url(value: str) -> Path | str:
    """A database option: a PostgreSQL URL as given, anything else a path."""
    return value if is_postgres(value) else Path(value)


def _tokens(args: argparse.Namespace) -> auth.TokenStore:
    access = auth.AccessSettings()
    if getattr(args, "token_db", None) is not None:
        access = access.model_copy(update={"token_db": _path_or_url(args.token_db)})
    return auth.token_store(access, _store_settings(args))


def _log(args: argparse.Namespace) -> audit_mod.AuditLog:
    return audit_mod.audit_log(_store_settings(args))


def _record(args: argparse.Namespace, action: str, command: str, **fields: object) -> None:
    """Audit a command-line action by the operating-system user (role ``operator``)."""
    _log(args).record(
        action,
        label=audit_mod.cli_actor(),
        role="operator",
        endpoint=f"geosafe {command}",
        **fields,  # type: ignore[arg-type]
    )


def _add_paths(p: argparse.ArgumentParser, *, tokens: bool = False) -> None:
    p.add_argument("--db", help="incident store (default: GEOSAFE_DB or ./geosafe.db)")
    p.add_argument("--audit-db", help="audit log (default: <db>.audit.sqlite)")
    if tokens:
        p.add_argument("--token-db", help="token database (default: <db>.auth.sqlite)")


# -- token --------------------------------------------------------------------------------
def _token_create(args: argparse.Namespace) -> int:
    area_codes: list[str] | None = None
    area = None
    if args.area:
        candidate = Path(args.area)
        if candidate.suffix.lower() in (".geojson", ".json", ".gpkg", ".shp") or candidate.exists():
            area = auth.read_area_file(candidate)
        else:
            area_codes = [c for c in args.area.split(",") if c.strip()]
    store = _tokens(args)
    issued = store.create(
        args.role,
        school_urn=args.school,
        area_codes=area_codes,
        area=area,
        expires_days=args.expires,
        label=args.label,
        purpose=args.purpose,
        rate_per_minute=args.rate_per_minute,
    )
    info = issued.info
    _record(
        args,
        "token",
        "token create",
        params={
            "token_id": info.token_id,
            "role": info.role,
            "label": info.label,
            "school": info.school_urn,
            "area": list(info.area_codes) or (args.area if area is not None else None),
            "expires": info.expires_at.isoformat(timespec="seconds"),
            "rate_per_minute": args.rate_per_minute,
        },
    )
    scope = info.school_urn or ",".join(info.area_codes) or (args.area if area else "everything")
    print(f"token id:  {info.token_id}")
    print(f"label:     {info.label}")
    print(f"role:      {info.role}")
    print(f"scope:     {scope}")
    print(f"expires:   {info.expires_at.isoformat(timespec='seconds')}")
    print("The token is shown once; only its hash is stored. Token:", file=sys.stderr)
    print(issued.token)
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    ids = _tokens(args).revoke(args.token)
    _record(
        args,
        "token",
        "token revoke",
        params={"token": args.token, "revoked": ids},
    )
    print(f"revoked {len(ids)} token(s): {', '.join(ids)}")
    return 0


def _token_list(args: argparse.Namespace) -> int:
    rows = _tokens(args).list_tokens()
    if not args.all:
        rows = [r for r in rows if r.active]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "token_id": r.token_id,
                        "label": r.label,
                        "role": r.role,
                        "school_urn": r.school_urn,
                        "area_codes": list(r.area_codes),
                        "created_at": r.created_at.isoformat(timespec="seconds"),
                        "expires_at": r.expires_at.isoformat(timespec="seconds"),
                        "revoked_at": r.revoked_at.isoformat(timespec="seconds")
                        if r.revoked_at
                        else None,
                        "active": r.active,
                    }
                    for r in rows
                ],
                indent=1,
            )
        )
        return 0
    print(f"{'id':<13} {'role':<13} {'scope':<28} {'expires':<20} {'state':<8} label")
    for r in rows:
        scope = (
            r.school_urn or ",".join(r.area_codes) or ("area file" if r.role != "analyst" else "-")
        )
        state = "active" if r.active else ("revoked" if r.revoked_at else "expired")
        exp = r.expires_at.strftime("%Y-%m-%d %H:%M")
        print(f"{r.token_id:<13} {r.role:<13} {scope[:28]:<28} {exp:<20} {state:<8} {r.label}")
    return 0


# -- audit --------------------------------------------------------------------------------
def _parse_when(text: str | None) -> datetime | None:
    if text is None:
        return None
    return periods.parse_instant(text, name="--since").to_pydatetime()


def _audit(args: argparse.Namespace) -> int:
    log = _log(args)
    if args.verify:
        check = log.check()
        if not check.ok:
            for problem in check.problems:
                print(f"audit log {log.path}: {problem}", file=sys.stderr)
            return 1
        print(f"audit log {log.path}: {check.rows} rows, keyed hash chain and head intact")
        return 0
    rows = log.entries(
        since=_parse_when(args.since), action=args.action, label=args.label, limit=args.limit
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=1))
        return 0
    print(f"{'id':>5} {'when (UTC)':<20} {'action':<7} {'who':<24} {'records':>7}  what / purpose")
    for r in rows:
        who = f"{r.label} ({r.role})"
        params = json.dumps(r.params, separators=(",", ":"))
        recs = "" if r.records is None else str(r.records)
        print(
            f"{r.id:>5} {r.at.strftime('%Y-%m-%d %H:%M:%S'):<20} {r.action:<7} {who[:24]:<24} "
            f"{recs:>7}  {r.endpoint} {params[:80]}" + (f" | {r.purpose}" if r.purpose else "")
        )
    return 0


# -- erase and purge ----------------------------------------------------------------------
def _open_store(settings: StoreSettings) -> IncidentStore:
    from ..settings import DB_HINT, store_exists
    from ..store import open_store

    if not store_exists(settings.db):
        msg = f"store {str(settings.db)!r} does not exist; {DB_HINT}."
        raise ValidationError(msg)
    return open_store(settings.db)


def _describe(db: Path | str) -> str:
    """The store for a message (a URL without its password)."""
    from ..store import describe

    return describe(db)


def _erase(args: argparse.Namespace) -> int:
    settings = _store_settings(args)
    source = args.source.replace("-", "_")
    if source not in SOURCES:
        msg = f"`--source` {args.source!r} is not a source; use one of {', '.join(SOURCES)}."
        raise ValidationError(msg)
    with _open_store(settings) as store:
        places = store.erase(source, args.ref)
    cleared = _clear_derived(args) if places else []
    _record(
        args,
        "erase",
        "erase",
        params={
            "source": source,
            "ref": args.ref,
            "removed_from": places,
            "derived_files_removed": len(cleared),
        },
        records=1 if places else 0,
        purpose=args.purpose,
    )
    where = _describe(settings.db)
    if not places:
        print(f"{source}:{args.ref} is not in the store {where}; nothing removed.", file=sys.stderr)
        return 2
    print(f"erased {source}:{args.ref} from {where}: {', '.join(places)}")
    print(
        f"removed {len(cleared)} cached download/raster file(s) under the service work "
        "directory; in-memory layers and maps are keyed on the store's state and are rebuilt "
        "without the record; the audit log keeps only the erasure itself."
    )
    return 0


def _clear_derived(args: argparse.Namespace) -> list[Path]:
    """Delete the service's cached files derived from the store (GeoPackage downloads, KDE
    rasters) under ``--work-dir`` (default: ``GEOSAFE_WORK_DIR``): they may hold the erased
    record and are rebuilt on the next request."""
    if args.work_dir is not None:
        work = Path(args.work_dir)
    else:
        from api.settings import ServiceSettings

        work = ServiceSettings().work_dir
    removed = []
    for sub, pattern in (("downloads", "*.gpkg"), ("rasters", "*.tif")):
        for path in sorted((work / sub).glob(pattern)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _purge(args: argparse.Namespace) -> int:
    settings = _store_settings(args)
    days = args.retention_days if args.retention_days is not None else settings.retention_days
    if args.before is not None:
        before = _parse_when(args.before)
    else:
        before = datetime.now(UTC) - timedelta(days=days)
    if before is None:  # pragma: no cover - _parse_when returns a value for a string
        raise ValidationError("`--before` is required")
    with _open_store(settings) as store:
        n = store.purge(before.isoformat())
    cleared = _clear_derived(args) if n else []
    _record(
        args,
        "purge",
        "purge",
        params={
            "before": before.isoformat(timespec="seconds"),
            "retention_days": days,
            "derived_files_removed": len(cleared),
        },
        records=n,
        purpose=args.purpose,
    )
    where = _describe(settings.db)
    print(f"purged {n} incident record(s) that ended before {before:%Y-%m-%d} from {where}")
    return 0


def _access_setup(args: argparse.Namespace) -> int:
    from ..access.pgsetup import grant_access

    if not is_postgres(args.db):
        msg = f"`--db` {args.db!r} is not a postgresql:// URL; SQLite files need no setup."
        raise ValidationError(msg)
    for sql in grant_access(args.db, service_role=args.service_role, audit_role=args.audit_role):
        print(sql)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    token = sub.add_parser("token", help="create, revoke and list access tokens")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION")
    tsub.required = True

    create = tsub.add_parser("create", help="create a token (printed once, on the last line)")
    create.add_argument("--role", required=True, choices=auth.ROLES)
    scope = create.add_mutually_exclusive_group()
    scope.add_argument("--school", metavar="URN", help="school token: its 6-digit DfE URN")
    scope.add_argument(
        "--area",
        metavar="CODES|FILE",
        help="neighbourhood token: 2018 ward GSS codes (comma-separated) or a GeoJSON polygon file",
    )
    create.add_argument(
        "--expires", type=float, metavar="DAYS", help="lifetime in days (default 90)"
    )
    create.add_argument("--label", help="who holds it (shown in the audit log)")
    create.add_argument(
        "--purpose",
        help="analyst only: the purpose audited for incident-level reads by tools that cannot "
        "send X-Purpose (QGIS, GDAL); a Basic user name or X-Purpose overrides it",
    )
    create.add_argument(
        "--rate-per-minute",
        type=float,
        metavar="N",
        help="this token's own rate limit, requests a minute across every service worker "
        "(default GEOSAFE_ACCESS_RATE_PER_MINUTE)",
    )
    _add_paths(create, tokens=True)
    create.set_defaults(func=_token_create)

    revoke = tsub.add_parser("revoke", help="revoke a token by id or label")
    revoke.add_argument("token", metavar="ID_OR_LABEL")
    _add_paths(revoke, tokens=True)
    revoke.set_defaults(func=_token_revoke)

    lst = tsub.add_parser("list", help="list tokens (never the tokens themselves)")
    lst.add_argument("--all", action="store_true", help="include revoked and expired tokens")
    lst.add_argument("--json", action="store_true", help="JSON output")
    _add_paths(lst, tokens=True)
    lst.set_defaults(func=_token_list)

    aud = sub.add_parser(
        "audit", help="show the audit log of incident-level reads, exports, imports"
    )
    aud.add_argument("--since", help="rows from this ISO date/time (UTC)")
    aud.add_argument("--action", choices=audit_mod.ACTIONS)
    aud.add_argument("--label", help="only this token label / operator")
    aud.add_argument("--limit", type=int, help="only the last N rows")
    aud.add_argument("--json", action="store_true", help="JSON output")
    aud.add_argument("--verify", action="store_true", help="check the log's hash chain")
    _add_paths(aud)
    aud.set_defaults(func=_audit)

    erase = sub.add_parser("erase", help="remove one source record everywhere it is stored")
    erase.add_argument("--source", required=True, help="dir, asif, cris, fap or police-uk")
    erase.add_argument("--ref", required=True, help="the source's reference (dir_ref, crn, ...)")
    erase.add_argument("--purpose", help="why (recorded in the audit log)")
    erase.add_argument(
        "--work-dir", help="the service's work directory (default: GEOSAFE_WORK_DIR)"
    )
    _add_paths(erase)
    erase.set_defaults(func=_erase)

    purge = sub.add_parser("purge", help="remove incidents older than the retention period")
    purge.add_argument(
        "--retention-days", type=int, help="override GEOSAFE_RETENTION_DAYS (default 6 years)"
    )
    purge.add_argument("--before", help="remove incidents that ended before this ISO date instead")
    purge.add_argument("--purpose", help="why (recorded in the audit log)")
    purge.add_argument(
        "--work-dir", help="the service's work directory (default: GEOSAFE_WORK_DIR)"
    )
    _add_paths(purge)
    purge.set_defaults(func=_purge)

    setup = sub.add_parser(
        "access-setup",
        help="PostgreSQL: create the access schemas and grant the service and audit roles",
        description="Run once as the database owner: creates the geosafe_access (tokens, "
        "sessions, limits) and geosafe_audit schemas, lets the service role use the first "
        "and the audit role only read and append the second.",
    )
    setup.add_argument("--db", required=True, help="postgresql://OWNER@HOST:PORT/DATABASE")
    setup.add_argument("--service-role", required=True, help="the service workers' role")
    setup.add_argument("--audit-role", required=True, help="the audit log's own role")
    setup.set_defaults(func=_access_setup)
