"""`geosafe` subcommands: rolls (a school's uploaded list of pupils' home postcodes)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `geosafe` parser."""
