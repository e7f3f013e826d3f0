"""The ground floor: what the API, the worker and the training child share (imports nothing of fitstudio's own)."""
