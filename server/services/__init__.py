"""Business logic callable without HTTP: each module takes an ORM session and plain values."""
