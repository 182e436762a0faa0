"""The person key: how a ``person_ref`` is re-keyed before it reaches the store.

A ``person_ref`` is a pseudonym the partnership agrees and makes before export (for example a
keyed hash of the Unique Pupil Number). geosafe never stores it as given: it keeps
``HMAC-SHA-256(person key, person_ref)`` (hex, 64 characters), where the person key is held
outside the store, in a file readable by its owner only (``GEOSAFE_PERSON_KEY_FILE``, mode
0600) or in the environment (``GEOSAFE_PERSON_KEY``). A copy of the store alone can therefore
not be joined to any other list, and the same young person gets the same key in every source
imported with the same person key.

Make a key file once per deployment::

    umask 077 && head -c 32 /dev/urandom | base64 > /etc/geosafe/person.key
"""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path
from typing import Final

from .._errors import ConfigurationError
from ..settings import ProfileSettings

__all__ = ["MIN_KEY_BYTES", "load_person_key", "rekey"]

#: Shortest person key accepted, bytes.
MIN_KEY_BYTES: Final = 16

_SETUP: Final = (
    "set GEOSAFE_PERSON_KEY_FILE to a file of at least 16 random bytes with mode 0600 (e.g. "
    "`umask 077 && head -c 32 /dev/urandom | base64 > person.key`) or GEOSAFE_PERSON_KEY"
)


def load_person_key(settings: ProfileSettings | None = None) -> bytes:
    """The person key from the key file (checked to be 0600 or stricter) or the environment.

    Raises
    ------
    ConfigurationError
        No key configured, a key file others can read, or a key shorter than 16 bytes.
    """
    s = settings or ProfileSettings()
    if s.person_key_file is not None:
        path = Path(s.person_key_file)
        try:
            mode = path.stat().st_mode
            data = path.read_bytes().strip()
        except OSError as exc:
            msg = (
                f"`GEOSAFE_PERSON_KEY_FILE` {str(path)!r} cannot be read "
                f"({exc.strerror or exc}); {_SETUP}."
            )
            raise ConfigurationError(msg) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            msg = (
                f"`GEOSAFE_PERSON_KEY_FILE` {str(path)!r} has mode {stat.S_IMODE(mode):o}: "
                "others can read the person key; `chmod 600` it."
            )
            raise ConfigurationError(msg)
    elif s.person_key:
        data = s.person_key.strip().encode("utf-8")
    else:
        msg = f"the file has `person_ref` values but no person key is configured; {_SETUP}."
        raise ConfigurationError(msg)
    if len(data) < MIN_KEY_BYTES:
        msg = f"the person key is {len(data)} bytes long; use at least {MIN_KEY_BYTES} ({_SETUP})."
        raise ConfigurationError(msg)
    return data


def rekey(person_ref: str, key: bytes) -> str:
    """``HMAC-SHA-256(key, person_ref)`` as 64 hex digits (the only form ever stored)."""
    return hmac.new(key, person_ref.strip().encode("utf-8"), hashlib.sha256).hexdigest()
