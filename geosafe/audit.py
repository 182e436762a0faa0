"""Alias of :mod:`geosafe.access.audit` (moved there in the redesign), kept while branches
written against the old name are merged; import ``geosafe.access.audit`` instead."""

from .access.audit import *  # noqa: F403
from .access.audit import __all__ as __all__
