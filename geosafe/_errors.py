"""The geosafe exception hierarchy.

Every domain error subclasses :class:`GeosafeError` and a built-in, so callers may catch
either (r5py ``util/exceptions.py``). Domain errors know nothing of HTTP: ``api/errors.py``
maps them to status codes in one table.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "ConfigurationError",
    "DisclosureError",
    "GeocodeError",
    "GeosafeError",
    "GtfsError",
    "ImportFileError",
    "LimitExceededError",
    "NotFoundError",
    "RequestCostError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RoutingError",
    "StoreError",
    "ValidationError",
]


class GeosafeError(Exception):
    """Base class of every geosafe error."""


class ConfigurationError(GeosafeError, ValueError):
    """A setting or a bundled data file is missing or invalid."""


class ValidationError(GeosafeError, ValueError):
    """A parameter passed to the library is invalid."""


class ImportFileError(GeosafeError, ValueError):
    """A whole import file cannot be used (unreadable, wrong header...).

    Row-level problems never raise: they are quarantined.
    """


class GeocodeError(GeosafeError, ValueError):
    """A location could not be turned into coordinates."""


class StoreError(GeosafeError, RuntimeError):
    """The incident store is unavailable or inconsistent."""


class NotFoundError(GeosafeError, LookupError):
    """A requested object (collection, feature, school, batch, job) does not exist."""


class GtfsError(GeosafeError, ValueError):
    """A GTFS feed cannot be used."""


class RoutingError(GeosafeError, RuntimeError):
    """A route could not be computed."""


class AuthenticationError(GeosafeError, PermissionError):
    """No valid credentials were presented."""


class AccessDeniedError(GeosafeError, PermissionError):
    """Valid credentials, but the role may not do this."""


class DisclosureError(GeosafeError, ValueError):
    """A request would disclose data finer than the caller's role allows."""


class LimitExceededError(GeosafeError, ValueError):
    """A request exceeds a configured limit (too many requests or jobs at once).

    ``retry_after`` is the seconds to wait before trying again, when known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestCostError(LimitExceededError):
    """A request would cost more than its role may ask for (grid cells, kernel size, bbox
    area, journeys); the message names the limit and how to stay under it."""


class RequestTooLargeError(LimitExceededError):
    """A request body is larger than the configured limit."""


class RequestTimeoutError(LimitExceededError):
    """A request ran longer than the configured limit."""
