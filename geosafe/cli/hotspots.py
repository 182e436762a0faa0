"""`geosafe` subcommands: hotspots.

- ``geosafe kde [INPUT...] --bandwidth METRES|auto --cell METRES --kernel quartic|gaussian
  [--study-area FILE] --out FILE.tif``: Cloud-Optimised GeoTIFF, EPSG:27700, incidents per
  km² (nodata outside the study area); without ``--study-area`` the extent of the points plus
  one bandwidth. Prints a JSON summary (bandwidth chosen, counts used/excluded).
- ``geosafe hotspots [INPUT...] --method kde|dbscan|hdbscan|gistar|emerging --out
  FILE.geojson [method options] [--with-referral-places]``: WGS84 GeoJSON.
  ``--with-referral-places`` (store only) counts the places named in FAP referrals' notes
  with the incidents (:mod:`geosafe.hotspots.referral_places`): the JSON gains
  ``referral_places`` (``mentions``, ``places``, ``referrals``, ``note``) and each feature
  ``referral_place_mentions``.
- ``geosafe evaluate [INPUT...] --method kde|grid|gistar|dbscan|auto [--method ...]
  --train-months N --test-months 1 --area FRACTION [--from YYYY-MM --to YYYY-MM]
  [--study-area FILE] --format json``.
- ``geosafe compare [INPUT...] (--a-from/--a-to/--b-from/--b-to DATE | --a-source/--b-source
  SOURCE) --out FILE.geojson [--out-tif FILE.tif]``.

INPUT is one or more import files or directories (police.uk detected by its header, else
``--input-source``); with no INPUT the store is read (``--db``, else ``GEOSAFE_DB``): that
needs ``--purpose TEXT`` or ``GEOSAFE_PURPOSE`` (why incident-level data is read, as the API's ``X-Purpose``; refused
with exit code 2 without it) and adds one ``read`` row to the audit log per run (who: the OS
user or ``--label``, role ``analyst-cli``; the command and its parameters; the incident records
read; the purpose). INPUT files are not the store and are not audited. Every
command takes the shared filters (:mod:`geosafe.filters`). ``--study-area`` is any vector
file (union of its features); ``--boroughs NAME,...`` uses bundled borough boundaries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from .._errors import ImportFileError, ValidationError
from ..filters import (
    Exclusions,
    IncidentFilter,
    add_filter_arguments,
    date_arg,
    filter_from_args,
)
from ..incident import CRS_BNG
from . import _engine

if TYPE_CHECKING:
    from ..hotspots.referral_places import ReferralPlaces

__all__ = ["register"]

_POLICE_HEADER = ("crime id", "month", "falls within")


# ---------------------------------------------------------------------------- shared input


def _add_input(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="import files or directories")
    p.add_argument(
        "--input-source",
        metavar="SOURCE",
        help="dir|asif|cris|fap|police-uk for INPUT files (police.uk is detected by header)",
    )
    p.add_argument(
        "--db", help="incident store: SQLite file or postgresql:// URL (default GEOSAFE_DB)"
    )
    p.add_argument(
        "--purpose",
        metavar="TEXT",
        help="why incident-level data is read from the store (required then, or GEOSAFE_PURPOSE; audited)",
    )
    p.add_argument("--label", help="who runs it, for the audit log (default: the OS user)")
    p.add_argument("--study-area", type=Path, metavar="FILE", help="vector file (EPSG from file)")
    p.add_argument(
        "--boroughs", metavar="NAMES", help="study area from bundled boroughs, comma-separated"
    )
    add_filter_arguments(p)


def _expand(inputs: list[str]) -> list[Path]:
    out: list[Path] = []
    for name in inputs:
        p = Path(name)
        if p.is_dir():
            found = sorted([*p.glob("*.csv"), *p.glob("*.csv.gz"), *p.glob("*.xlsx")])
            if not found:
                msg = f"directory {name!r} holds no .csv, .csv.gz or .xlsx files."
                raise ImportFileError(msg)
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            msg = f"INPUT {name!r} is not a file or directory; check the path."
            raise ImportFileError(msg)
    return out


def _is_police_uk(path: Path) -> bool:
    if path.suffix == ".xlsx":
        return False
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:  # type: ignore[operator]
            head = fh.readline().lower()
    except OSError:
        return False
    return all(h in head for h in _POLICE_HEADER)


def _load(args: argparse.Namespace, filt: IncidentFilter) -> gpd.GeoDataFrame:
    """Incidents from INPUT files or the store, before the filter (the store is asked only for
    the filter's sources and dates)."""
    if args.inputs:
        from ..ingest import read_incidents

        files = _expand(args.inputs)
        source = args.input_source
        if source is None:
            if all(_is_police_uk(f) for f in files):
                source = "police_uk"
            else:
                msg = (
                    f"cannot tell the source of {str(files[0])!r}; pass `--input-source` "
                    "dir|asif|cris|fap|police-uk."
                )
                raise ValidationError(msg)
        gdf = read_incidents(source, files)
    else:
        from ..settings import DB_HINT, store_exists, store_target
        from ..store import open_store

        path = store_target(args.db)
        purpose = (args.purpose or os.environ.get("GEOSAFE_PURPOSE") or "").strip()
        if not purpose:
            msg = (
                f"reading incident-level data from the store {str(path)!r} needs "
                f"`--purpose TEXT` or GEOSAFE_PURPOSE (got {args.purpose!r}): say why, it is "
                "recorded in the audit log (the API's X-Purpose rule); or pass INPUT files "
                "instead of the store."
            )
            raise ValidationError(msg)
        if not store_exists(path):
            msg = f"store {str(path)!r} does not exist; pass INPUT files, or {DB_HINT}."
            raise ValidationError(msg)
        start = pd.Timestamp(filt.from_date) if filt.from_date else None
        end = pd.Timestamp(filt.to_date + dt.timedelta(days=1)) if filt.to_date else None
        with open_store(path) as store:
            gdf = store.incidents(
                sources=list(filt.sources) if filt.sources else None,
                start=start,
                end=end,
            )
        _audit_read(args, path, purpose, len(gdf))
    return gdf


def _audit_read(args: argparse.Namespace, db: Path | str, purpose: str, records: int) -> None:
    """One audit row for a command's read of the store (``records`` incidents read)."""
    from ..access.audit import AuditLog, cli_actor
    from ..settings import StoreSettings

    skip = {"func", "purpose", "label", "verbose", "command"}
    params = {k: v for k, v in sorted(vars(args).items()) if k not in skip}
    AuditLog(StoreSettings(db=db).audit_path()).record(
        "read",
        label=args.label or cli_actor(),
        role="analyst-cli",
        endpoint=f"geosafe {args.command}",
        params=params,
        records=records,
        purpose=purpose,
    )


class _Inputs(NamedTuple):
    """What a command works on: its filter, the incidents kept, its study area, what the
    filter dropped and why, and the rows dropped only for coarse times (police.uk months,
    FAP dates) that an "all times" layer can show."""

    filt: IncidentFilter
    gdf: gpd.GeoDataFrame
    area: BaseGeometry | None
    excluded: Exclusions
    coarse: gpd.GeoDataFrame


def _inputs(args: argparse.Namespace) -> _Inputs:
    """The inputs of a command (see :class:`_Inputs`)."""
    filt = filter_from_args(args)
    raw = _load(args, filt)
    excluded = filt.exclusions(raw)
    keep = filt.mask(raw) if not filt.is_empty else None
    gdf = raw if keep is None else raw[keep]
    coarse = raw[filt.coarse_time_mask(raw)] if keep is not None else raw.iloc[:0]
    return _Inputs(filt, gdf, _study_area(args), excluded, coarse)


def _with_counts(excluded: Exclusions, counts: dict[str, Any]) -> Exclusions:
    """Add an analysis's own drops (no location, location too coarse) to the filter's."""
    excluded = excluded.add("location_missing", int(counts.get("no_location", 0) or 0))
    return excluded.add("location_too_coarse", int(counts.get("excluded_precision", 0) or 0))


def _all_times_path(out: Path) -> Path:
    suffix = "".join(out.suffixes) or ".out"
    return out.with_name(out.name.removesuffix(suffix) + ".all-times" + suffix)


def _all_times_label(inp: _Inputs) -> str:
    n = len(inp.coarse)
    srcs = ", ".join(f"{k} {v:,}" for k, v in inp.coarse["source"].value_counts().items())
    return (
        f"all times: {n:,} records ({srcs}) dated only to the day or month, so they cannot be "
        f"placed in {inp.excluded.window or 'the time window'}; shown at any time of day"
    )


def _study_area(args: argparse.Namespace) -> BaseGeometry | None:
    if getattr(args, "study_area", None):
        path = Path(args.study_area)
        if not path.exists():
            msg = f"`--study-area` {str(path)!r} does not exist; pass a vector file."
            raise ValidationError(msg)
        gdf = gpd.read_file(path)
        if gdf.crs is None:
            msg = f"`--study-area` {str(path)!r} has no CRS; save it with one (e.g. EPSG:27700)."
            raise ValidationError(msg)
        return gdf.to_crs(CRS_BNG).geometry.union_all()
    if getattr(args, "boroughs", None):
        from .. import datasets

        names = [n.strip() for n in args.boroughs.split(",") if n.strip()]
        b = datasets.boroughs()
        unknown = [n for n in names if n not in set(b["name"])]
        if unknown:
            msg = f"`--boroughs` {unknown!r} unknown; use names such as 'Haringey' or 'Barnet'."
            raise ValidationError(msg)
        return b[b["name"].isin(names)].geometry.union_all()
    return None


def _bandwidth(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        v = float(text)
    except ValueError:
        msg = f"{text!r} is not METRES or 'auto'"
        raise argparse.ArgumentTypeError(msg) from None
    if v <= 0:
        msg = f"{text!r} must be positive metres"
        raise argparse.ArgumentTypeError(msg)
    return v


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _period_years(filt: IncidentFilter) -> float | None:
    if filt.from_date and filt.to_date:
        return ((filt.to_date - filt.from_date).days + 1) / 365.25
    return None


# ---------------------------------------------------------------------------- kde


def _add_kde_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--bandwidth",
        type=_bandwidth,
        default=None if required else 250.0,
        required=required,
        metavar="METRES|auto",
    )
    p.add_argument(
        "--cell",
        type=float,
        default=None if required else 50.0,
        required=required,
        metavar="METRES",
    )
    p.add_argument("--kernel", choices=("quartic", "gaussian"), default="quartic")
    p.add_argument(
        "--bandwidth-method", choices=("cv", "rule"), default="cv", help="for --bandwidth auto"
    )
    p.add_argument(
        "--precision",
        choices=("exclude", "spread", "ignore"),
        default="exclude",
        help="records coarser than the bandwidth",
    )


def _kde_surface(
    args: argparse.Namespace, gdf: Any, area: Any, *, period_years: float | None = None
) -> Any:
    """The KDE surface the ``kde`` and ``hotspots --method kde`` options describe."""
    from ..hotspots import kde

    client = _engine.engine_client(args)
    if client is not None:
        from ..engines import dask as dask_engine

        return dask_engine.kde_surface(
            client,
            _engine.partitions(gdf),
            bandwidth=args.bandwidth,
            cell=args.cell,
            kernel=args.kernel,
            study_area=area,
            precision=args.precision,
            period_years=period_years,
        )
    with warnings.catch_warnings():
        # an empty surface is refused with the reason by the caller (exit 2)
        warnings.filterwarnings("ignore", message=r"all \d+ located incidents are less precise")
        return kde.kde_surface(
            gdf,
            bandwidth=args.bandwidth,
            cell=args.cell,
            kernel=args.kernel,
            study_area=area,
            precision=args.precision,
            bandwidth_method=args.bandwidth_method,
            period_years=period_years,
        )


def _kde(args: argparse.Namespace) -> int:
    from ..hotspots import surfaces

    inp = _inputs(args)
    filt, gdf, area = inp.filt, inp.gdf, inp.area
    fallback = args.coarse_times == "all-times" and len(inp.coarse) > 0
    excluded = inp.excluded
    years = _period_years(filt)
    res = None
    if len(gdf):
        res = _kde_surface(args, gdf, area, period_years=years)
        excluded = _with_counts(excluded, res.counts)
    if (res is None or res.counts["used"] == 0) and not fallback:
        raise ValidationError(excluded.empty_message("`geosafe kde`"))
    extra: dict[str, Any] = {"excluded": excluded.as_json()}
    if fallback:
        alt = _kde_surface(args, inp.coarse, area, period_years=years)
        alt_path = _all_times_path(args.out)
        surfaces.write_cog(alt, alt_path, per_year=bool(args.per_year and years))
        extra["all_times_layer"] = {
            "out": str(alt_path),
            "label": _all_times_label(inp),
            "incidents": len(inp.coarse),
            "counts": alt.counts,
        }
    if res is None or res.counts["used"] == 0:
        # nothing in the window: only the labelled "all times" layer is written
        _print(
            {
                "out": None,
                "empty_reason": excluded.empty_message("the time window"),
                "filters": filt.describe(),
                **extra,
            }
        )
        return 0
    surfaces.write_cog(res, args.out, per_year=bool(args.per_year and years))
    nrows, ncols = res.grid.shape
    _print(
        {
            "out": str(args.out),
            "crs": res.crs,
            "units": "incidents per km² per year"
            if args.per_year and years
            else "incidents per km²",
            "kernel": res.kernel,
            "bandwidth_m": round(res.bandwidth_m, 2),
            "bandwidth_method": res.bandwidth_method,
            "cell_m": res.cell_m,
            "width": ncols,
            "height": nrows,
            "counts": res.counts,
            "filters": filt.describe(),
            **extra,
        }
    )
    return 0


# ---------------------------------------------------------------------------- hotspots


def _hotspots(args: argparse.Namespace) -> int:
    from ..hotspots import surfaces

    inp = _inputs(args)
    fallback = args.coarse_times == "all-times" and len(inp.coarse) > 0
    excluded = inp.excluded
    meta: dict[str, Any] = {"method": args.method, "filters": inp.filt.describe()}
    named = _referral_places(args, inp)
    if named is not None:
        from ..hotspots.referral_places import with_referral_places

        inp = inp._replace(gdf=with_referral_places(inp.gdf, named))
        meta["referral_places"] = named.as_json()
    out = None
    if len(inp.gdf):
        out, found = _hotspot_features(args, inp.gdf, inp.area)
        meta |= found
        excluded = _with_counts(excluded, found.get("counts", found))
    used = int(meta.get("counts", {}).get("used", 1)) if out is not None else 0
    if (out is None or used == 0) and not fallback:
        raise ValidationError(excluded.empty_message(f"`geosafe hotspots --method {args.method}`"))
    meta["excluded"] = excluded.as_json()
    if fallback:
        alt, _alt_meta = _hotspot_features(args, inp.coarse, inp.area)
        label = _all_times_label(inp)
        alt["time_basis"] = "all times"
        alt_path = _all_times_path(args.out)
        alt.attrs = {}
        surfaces.write_geojson(alt, alt_path)
        meta["all_times_layer"] = {
            "out": str(alt_path),
            "label": label,
            "incidents": len(inp.coarse),
            "features": len(alt),
        }
    if out is None or used == 0:
        meta |= {"out": None, "features": 0}
        meta["empty_reason"] = excluded.empty_message("the time window")
        _print(meta)
        return 0
    out.attrs = {}
    if named is not None:
        from ..hotspots.referral_places import mentions_in

        out["referral_place_mentions"] = mentions_in(out, named)
    surfaces.write_geojson(out, args.out)
    meta["features"] = len(out)
    meta["out"] = str(args.out)
    _print(meta)
    return 0


def _referral_places(args: argparse.Namespace, inp: _Inputs) -> ReferralPlaces | None:
    """The places named in the store's referrals, selected like the incidents, when
    ``--with-referral-places`` asks for them (the store read is audited by :func:`_load`)."""
    if not args.with_referral_places:
        return None
    if args.inputs:
        msg = (
            f"`--with-referral-places` reads the places named in referrals from the store, not "
            f"from INPUT files ({', '.join(args.inputs)!r}); drop the INPUT files and pass "
            "`--db` and `--purpose`."
        )
        raise ValidationError(msg)
    from ..hotspots.referral_places import referral_places
    from ..settings import store_target

    return referral_places(store_target(args.db), filt=inp.filt, area=inp.area)


def _hotspot_features(
    args: argparse.Namespace, gdf: gpd.GeoDataFrame, area: BaseGeometry | None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The features of ``geosafe hotspots --method ...`` and their metadata."""
    from ..hotspots import surfaces

    meta: dict[str, Any] = {}
    if args.method == "kde":
        res = _kde_surface(args, gdf, area)
        out = surfaces.hotspot_polygons(
            res,
            top_percent=args.top_percent if args.threshold is None else None,
            threshold=args.threshold,
            points=gdf,
        )
        meta |= {
            "bandwidth_m": res.bandwidth_m,
            "bandwidth_method": res.bandwidth_method,
            "counts": res.counts,
        }
    elif args.method in ("dbscan", "hdbscan"):
        from ..hotspots import dbscan

        out = dbscan.clusters(
            gdf,
            method=args.method,
            eps=args.eps,
            min_samples=args.min_samples,
            min_cluster_size=args.min_cluster_size,
            precision="ignore" if args.precision == "ignore" else "exclude",
            dbscan=_engine.dbscan_function(args),
        )
        meta |= dict(out.attrs)
        meta["counts"] = {
            "used": int(out.attrs["clustered"] + out.attrs["noise"]),
            "no_location": out.attrs["no_location"],
            "excluded_precision": out.attrs["excluded_precision"],
        }
    elif args.method == "gistar":
        from ..hotspots import gistar

        counts = _engine.h3_counts(
            args,
            gdf,
            resolution=args.resolution,
            study_area=area,
            precision="ignore" if args.precision == "ignore" else "exclude",
        )
        out = gistar.gi_star(counts, k=args.k, permutations=args.permutations, seed=args.seed)
        meta |= {k: v for k, v in out.attrs.items()}
        meta["classes"] = out["gi_class"].value_counts().to_dict()
        meta["counts"] = {
            k: counts.attrs.get(k, 0)
            for k in ("input", "used", "no_location", "excluded_precision")
        }
    else:
        from ..hotspots import emerging

        out = emerging.emerging_hotspots(
            gdf,
            resolution=args.resolution,
            study_area=area,
            slice=args.slice,
            k=args.k,
            permutations=args.permutations,
            seed=args.seed,
        )
        meta |= dict(out.attrs)
        meta["categories"] = out["category"].value_counts().to_dict()
    return out, meta


# ---------------------------------------------------------------------------- evaluate


def _evaluate(args: argparse.Namespace) -> int:
    from ..hotspots import evaluate

    inp = _inputs(args)
    gdf, area = inp.gdf, inp.area
    if not len(gdf):
        raise ValidationError(inp.excluded.empty_message("`geosafe evaluate`", fallback=False))
    if area is None:
        from .. import datasets

        area, area_info = evaluate.study_area_from_data(gdf, datasets.boroughs())
    else:
        area_info = {
            "source": "--study-area" if args.study_area else "--boroughs",
            "boroughs": [n.strip() for n in args.boroughs.split(",")] if args.boroughs else None,
            "area_km2": round(float(area.area) / 1e6, 2),
        }
    methods = list(dict.fromkeys(args.method or ["kde"]))
    bt = _engine.backtest(
        args,
        gdf,
        methods=methods,
        train_months=args.train_months,
        test_months=args.test_months,
        area=args.area,
        first_test=args.from_month,
        last_test=args.to_month,
        study_area=area,
        seed=args.seed,
    )
    summary = bt.summary()
    summary["study_area"] = area_info
    summary["excluded"] = inp.excluded.as_json(fallback=False)
    if args.format == "json":
        if not args.monthly:
            for m in summary["methods"].values():
                m.pop("monthly", None)
        _print(summary)
    else:
        print(
            f"test months {summary['test_months'][0]}..{summary['test_months'][-1]}, area {args.area}"
        )
        print(f"study area: {area_info.get('boroughs') or ''} ({area_info['source']})")
        for line in inp.excluded.messages(fallback=False):
            print(f"excluded: {line}")
        print(f"{'method':8} {'PAI mean':>9} {'min':>7} {'max':>7} {'PEI mean':>9} {'RRI mean':>9}")
        for name, m in summary["methods"].items():
            print(
                f"{name:8} {m['pai']['mean']:>9} {m['pai']['min']:>7} {m['pai']['max']:>7} {m['pei']['mean']:>9} {m['rri']['mean']:>9}"
            )
    return 0


# ---------------------------------------------------------------------------- compare


def _compare(args: argparse.Namespace) -> int:
    from ..hotspots import compare, surfaces

    _filt, gdf, area = _inputs(args)[:3]
    if area is None:
        msg = "`geosafe compare` needs `--study-area FILE` or `--boroughs NAMES`."
        raise ValidationError(msg)
    ya = yb = None
    if args.a_source and args.b_source:
        from ..sources import normalise_source

        a = gdf[gdf["source"] == normalise_source(args.a_source)]
        b = gdf[gdf["source"] == normalise_source(args.b_source)]
    elif args.a_from and args.a_to and args.b_from and args.b_to:
        a = IncidentFilter(from_date=args.a_from, to_date=args.a_to).apply(gdf)
        b = IncidentFilter(from_date=args.b_from, to_date=args.b_to).apply(gdf)
        ya = ((args.a_to - args.a_from).days + 1) / 365.25
        yb = ((args.b_to - args.b_from).days + 1) / 365.25
    else:
        msg = "pass `--a-from --a-to --b-from --b-to` (two periods) or `--a-source --b-source`."
        raise ValidationError(msg)
    res = compare.compare(
        a,
        b,
        study_area=area,
        bandwidth=args.bandwidth,
        cell=args.cell,
        kernel=args.kernel,
        resolution=args.resolution,
        k=args.k,
        permutations=args.permutations,
        seed=args.seed,
        years_a=ya,
        years_b=yb,
    )
    surfaces.write_geojson(res.cells, args.out)
    if args.out_tif:
        surfaces.write_cog(res.difference, args.out_tif)
    _print(
        {
            "out": str(args.out),
            "out_tif": str(args.out_tif) if args.out_tif else None,
            "incidents_a": len(a),
            "incidents_b": len(b),
            "per_year": ya is not None,
            "change": res.change_counts,
        }
    )
    return 0


# ---------------------------------------------------------------------------- registration


def _add_coarse_times(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--coarse-times",
        choices=("exclude", "all-times"),
        default="exclude",
        help=(
            "records dated only to the day or month (police.uk, FAP) cannot be placed in a "
            "time-of-day or weekday window: 'exclude' counts them in the JSON 'excluded'; "
            "'all-times' also maps them in a separate, labelled layer OUT.all-times.*"
        ),
    )


def _add_cell_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resolution", type=int, default=9, help="H3 resolution (gistar, emerging)")
    p.add_argument("--k", type=int, default=1, help="H3 ring distance of neighbours")
    p.add_argument(
        "--permutations",
        type=int,
        default=0,
        help="Gi* p-values: 0 analytic from the z-score (default, as ArcGIS); else >= 999",
    )
    p.add_argument("--seed", type=int, default=0)


_EVALUATE_HELP = """\
Rolling backtest: each test month is forecast from the --train-months before it; each method
flags the same share (--area) of the study area, and the test month's incidents score it.

  PAI  Predictive Accuracy Index (Chainey et al. 2008): the share of the test incidents that
       fall in the flagged cells divided by the share of the area flagged. 1 is no better than
       chance; 10 means ten times as many incidents per km2 as the study area's average.
  PEI  Predictive Efficiency Index (Hunt 2016): the test incidents caught divided by the most
       any choice of the same number of cells could have caught. 1 is perfect.
  RRI  Recapture Rate Index (Levine 2008): the flagged cells' share of the test incidents
       divided by their share of the training incidents. Above 1: the flagged places took a
       larger share of crime in the test month than in training.

Without --boroughs or --study-area the study area is the bundled boroughs the incidents fall
in (each holding at least 1% of them), named in the output as "study_area". A test month whose
training window holds no incidents is refused. Records dropped by filters are counted by
reason in "excluded".
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
    p = sub.add_parser(
        "kde", help="kernel density surface as a Cloud-Optimised GeoTIFF", allow_abbrev=False
    )
    _add_input(p)
    _add_coarse_times(p)
    _add_kde_options(p, required=True)
    p.add_argument("--out", type=Path, required=True, metavar="FILE.tif")
    p.add_argument(
        "--per-year", action="store_true", help="per km² per year (needs --from-date and --to-date)"
    )
    _engine.add_engine_options(p)
    p.set_defaults(func=_engine.with_engine(_kde))

    p = sub.add_parser(
        "hotspots", help="hotspot polygons, clusters or Gi* cells as GeoJSON", allow_abbrev=False
    )
    _add_input(p)
    p.add_argument(
        "--method", choices=("kde", "dbscan", "hdbscan", "gistar", "emerging"), required=True
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE.geojson")
    _add_coarse_times(p)
    _add_kde_options(p, required=False)
    p.add_argument(
        "--top-percent", type=float, default=5.0, help="kde: densest share of the area (%%)"
    )
    p.add_argument("--threshold", type=float, help="kde: density threshold (incidents per km²)")
    p.add_argument("--eps", type=float, default=100.0, help="dbscan: radius (metres)")
    p.add_argument("--min-samples", type=int, default=5, help="dbscan/hdbscan: min samples")
    p.add_argument("--min-cluster-size", type=int, default=10, help="hdbscan")
    p.add_argument(
        "--slice", choices=("week", "month", "quarter"), default="month", help="emerging"
    )
    _add_cell_options(p)
    p.add_argument(
        "--with-referral-places",
        action="store_true",
        help="count the places named in referrals' notes with the incidents (store only; "
        "analyst; the output says so)",
    )
    _engine.add_engine_options(p)
    p.set_defaults(func=_engine.with_engine(_hotspots))

    p = sub.add_parser(
        "evaluate",
        help="predictive accuracy (PAI, PEI, RRI) by rolling backtest",
        description=_EVALUATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    _add_input(p)
    p.add_argument("--method", action="append", choices=("kde", "grid", "gistar", "dbscan", "auto"))
    p.add_argument("--train-months", type=int, required=True)
    p.add_argument("--test-months", type=int, default=1)
    p.add_argument("--area", type=float, default=0.05, metavar="FRACTION")
    p.add_argument("--from", dest="from_month", metavar="YYYY-MM", help="first test month")
    p.add_argument("--to", dest="to_month", metavar="YYYY-MM", help="last test month")
    p.add_argument("--format", choices=("json", "table"), default="json")
    p.add_argument("--monthly", action="store_true", help="include per-month scores in the JSON")
    p.add_argument("--seed", type=int, default=0)
    _engine.add_engine_options(p)
    p.set_defaults(func=_engine.with_engine(_evaluate))

    p = sub.add_parser(
        "compare",
        help="two periods or two sources: difference surface and hotspot change",
        allow_abbrev=False,
    )
    _add_input(p)
    _add_kde_options(p, required=False)
    _add_cell_options(p)
    for side in ("a", "b"):
        p.add_argument(f"--{side}-from", type=date_arg, metavar="YYYY-MM-DD")
        p.add_argument(f"--{side}-to", type=date_arg, metavar="YYYY-MM-DD")
        p.add_argument(f"--{side}-source", metavar="SOURCE")
    p.add_argument(
        "--out", type=Path, required=True, metavar="FILE.geojson", help="H3 cells with change"
    )
    p.add_argument("--out-tif", type=Path, metavar="FILE.tif", help="difference surface (B - A)")
    p.set_defaults(func=_compare)
