"""Give freed heap back once the service goes idle (issue 16 item 1, server memory).

:class:`TrimWhenIdle` counts the requests in flight; when none has been for ``delay``
seconds after a burst, it calls :func:`geosafe._heap.release_free_heap` (glibc keeps the
pages freed by a layer build or a large download mapped otherwise). It never runs while a
request is being served, so it costs the requests nothing but a counter.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from geosafe._heap import release_free_heap

__all__ = ["IDLE_TRIM_DELAY_S", "TrimWhenIdle"]

#: Seconds without a request in flight before the heap is trimmed (the default of
#: ``ServiceSettings.idle_trim_s``, ``GEOSAFE_IDLE_TRIM_S``).
IDLE_TRIM_DELAY_S: Final = 1.0


class TrimWhenIdle:
    """Pure ASGI middleware (outermost): trim the C heap after ``delay`` idle seconds."""

    def __init__(self, app: ASGIApp, delay: float = IDLE_TRIM_DELAY_S) -> None:
        self.app = app
        self.delay = delay
        self._active = 0
        self._seen = 0  # requests started so far
        self._trimmed = 0  # the value of _seen at the last trim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._active += 1
        self._seen += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._active -= 1
            if self._active == 0:
                asyncio.get_running_loop().call_later(self.delay, self._trim_if_idle, self._seen)

    def _trim_if_idle(self, seen: int) -> None:
        if self._active == 0 and self._seen == seen and self._trimmed != seen:
            self._trimmed = seen
            release_free_heap()
