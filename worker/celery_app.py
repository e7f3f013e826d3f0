"""The worker's Celery app: the broker's app (server/broker.py) for the current settings; `celery -A` loads it."""

from __future__ import annotations

from server.broker import app_for
from server.settings import get_settings

app = app_for(get_settings())
