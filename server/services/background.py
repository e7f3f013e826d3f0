"""The API's background reconciler: sessions are never left running forever, even with no worker alive."""

from __future__ import annotations

import logging
import threading

from server.services.reconciler import reconcile
from server.settings import get_settings

log = logging.getLogger(__name__)


class Reconciler:
    """A daemon thread running server.services.reconciler.reconcile every reconcile_every_s."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fitstudio-reconciler", daemon=True)

    def start(self) -> None:
        """Start reconciling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()

    def _loop(self) -> None:
        """Reconcile until stopped; a failed pass is logged and the next one retries."""
        while not self._stop.wait(get_settings().reconcile_every_s):
            try:
                reconcile(get_settings())
            except Exception:  # the next pass retries; a reconciler never takes the API down
                log.exception("reconciler pass failed")
