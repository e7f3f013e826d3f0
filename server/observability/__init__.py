"""Observability: Prometheus /metrics (api.py, metrics.py, http.py) and structured JSON logs (logs.py)."""
