"""fitstudio: what users import — the REST client, the code-cell helpers, and the CLI."""

__version__ = "0.1.0"
