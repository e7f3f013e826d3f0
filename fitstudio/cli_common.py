"""What the `fitstudio` command's modules share: settings, a migrated database, errors, the help format."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def settings():  # type: ignore[no-untyped-def]
    """The server's settings (imported here, so `fitstudio --help` starts fast)."""
    from server.settings import get_settings

    return get_settings()


@contextmanager
def migrated_db() -> Iterator[Any]:
    """A database session (committed on leaving), after bringing the schema up to date."""
    from server.db import session_scope
    from server.services.bootstrap import migrate

    migrate(settings())
    with session_scope() as db:
        yield db


def fail(text: str) -> int:
    """Say TEXT on stderr as an error; the command's exit status."""
    print(f"error: {text}", file=sys.stderr)
    return 1


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except empty ones (None, False, ''), whose help says what empty means."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        empty = action.default is None or action.default is False or action.default in ("", argparse.SUPPRESS)
        if empty or not action.help:
            return action.help
        return super()._get_help_string(action)


def add_command(sub: Any, name: str, summary: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand NAME with SUMMARY in its parent's list and DESCRIPTION (else SUMMARY) on its own --help."""
    text = description or summary
    text = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
    return sub.add_parser(name, help=summary, description=text, formatter_class=HelpFormatter)  # type: ignore[no-any-return]


def ttl_words(seconds: int) -> str:
    """A login link's lifetime in words: '1 day', '12 hours', '90 seconds'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{seconds} seconds"
