"""argparse types shared by the subcommands: every date a user types goes through
:mod:`geosafe.periods`, so the CLI, the API and the filters read it alike."""

from __future__ import annotations

import argparse
import datetime as dt

from .. import periods
from .._errors import ValidationError

__all__ = ["clock_arg", "date_arg"]


def date_arg(text: str) -> dt.date:
    """argparse type for a ``YYYY-MM-DD`` date (:func:`geosafe.periods.parse_date`)."""
    try:
        return periods.parse_date(text, name="date")
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def clock_arg(text: str) -> dt.time:
    """argparse type for an ``HH:MM`` local time (:func:`geosafe.periods.parse_clock`)."""
    try:
        return periods.parse_clock(text, name="time")
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
