"""Alias of :mod:`geosafe.access.tokens` (moved there in the redesign), kept while branches
written against the old name are merged; import ``geosafe.access.tokens`` instead."""

from .access.tokens import *  # noqa: F403
from .access.tokens import __all__ as __all__
