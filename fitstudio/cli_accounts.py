"""Account commands: users create / set-password, tokens create / revoke, login-link; the link printed on start."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from fitstudio.cli_common import add_command, fail, migrated_db, settings, ttl_words


def cmd_users_create(args: argparse.Namespace) -> int:
    """Create a user (prompting for nothing: --password or token-only)."""
    from server.errors import ApiError
    from server.services import auth

    try:
        with migrated_db() as db:
            auth.create_user(db, args.name, password=args.password, is_admin=args.admin)
    except ApiError as exc:
        return fail(exc.detail)
    print(f"user {args.name} created{' (admin)' if args.admin else ''}")
    return 0


def _new_password(name: str, from_stdin: bool) -> str:
    """The new password: stdin's first line, or typed twice at a hidden prompt (ValueError when unusable)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"new password for {name}: ")
        if getpass.getpass("the same again: ") != password:
            raise ValueError("the two passwords differ; nothing was changed")
    if not password:
        raise ValueError("the password is empty; nothing was changed")
    return password


def cmd_users_set_password(args: argparse.Namespace) -> int:
    """Set (or replace) a user's password; the user's web sessions end, so every browser logs in again."""
    from server.services import audit, auth

    with migrated_db() as db:
        if auth.get_user(db, args.name) is None:
            return fail(f"no user {args.name!r}; create it with 'fitstudio users create {args.name}'")
    try:
        password = _new_password(args.name, args.password_stdin)
    except ValueError as exc:
        return fail(str(exc))
    with migrated_db() as db:
        user = auth.get_user(db, args.name)
        if user is None:  # deleted while the password was typed
            return fail(f"no user {args.name!r}")
        user.password_hash = auth.hash_password(password)
        user.session_gen = user.session_gen + 1  # the cookies issued so far are refused (webui.routes.logout)
        audit.record(db, None, "user.set_password", args.name, via="cli")
    print(f"password of {args.name} set; log in at {settings().public_url}/login")
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    """Print a new API token for a user, alone on the last line."""
    from server.services import auth

    with migrated_db() as db:
        user = auth.get_user(db, args.name)
        if user is None:
            return fail(f"no user {args.name!r}; create it with 'fitstudio users create {args.name}'")
        token = auth.create_token(db, user, args.token_name or "cli")
    print(f"new token for {args.name}:")
    print(token)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke an API token by its id (GET /api/v1/tokens lists a user's tokens with their ids)."""
    from server.models import ApiToken, utcnow
    from server.services import audit

    with migrated_db() as db:
        row = db.get(ApiToken, args.id)
        if row is None:
            return fail(f"no token with id {args.id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(db, None, "token.revoke", str(row.id), via="cli", owner=row.user.username)
        owner, prefix = row.user.username, row.prefix
    print(f"token {args.id} ({prefix}…) of {owner} is revoked")
    return 0


def _link_note() -> str:
    """How long a login link lasts, in words."""
    return f"works once, within {ttl_words(settings().login_link_ttl_s)}; a newer link replaces it"


def cmd_login_link(args: argparse.Namespace) -> int:
    """Print a fresh login link for user NAME (the first site admin by default), alone on the last line."""
    from server.services import auth, bootstrap

    base = args.url or settings().public_url
    with migrated_db() as db:
        user = auth.get_user(db, args.name) if args.name else bootstrap.first_admin(db)
        if user is None:
            who = f"user {args.name!r}" if args.name else "site admin"
            return fail(f"no {who}; create one with 'fitstudio users create NAME --admin'")
        name, link = user.username, bootstrap.login_link(db, user, base)
    print(f"login link for {name} ({_link_note()}):")
    print(link)
    return 0


def start_link_lines(db: Any, first_token: str | None = None) -> list[str]:
    """What every start of `up` and `api` prints: a fresh login link for the first admin (FIRST_TOKEN's on the very
    first start). Print them after DB commits: a printed link must already work."""
    from server.services import bootstrap

    admin = bootstrap.first_admin(db)
    if admin is None:
        return ["no site admin yet: create one with 'fitstudio users create NAME --admin'"]
    base = settings().public_url
    link = bootstrap.link_for(base, first_token) if first_token else bootstrap.login_link(db, admin, base)
    return [
        f"log in as {admin.username} ({_link_note()}): {link}",
        f"another link later: fitstudio login-link {admin.username}",
    ]


def add_account_commands(sub: Any) -> None:
    """Register users, tokens and login-link on the subcommand set SUB."""
    users = add_command(sub, "users", "user accounts")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    uc = add_command(usub, "create", "create a user", "create a user (log in with its password or a login link)")
    uc.add_argument("name", help="the user name: letters, digits, '.', '_', '-'")
    uc.add_argument("--admin", action="store_true", help="a site admin (admin in every project)")
    uc.add_argument("--password", default=None, help="its password (none: it logs in with login links or tokens)")
    uc.set_defaults(fn=cmd_users_create)
    sp = add_command(
        usub,
        "set-password",
        "set a user's password",
        "set or replace user NAME's password (asked twice, hidden); "
        "the user's web sessions end, so every browser logs in again",
    )
    sp.add_argument("name", help="the user name")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    sp.set_defaults(fn=cmd_users_set_password)

    tokens = add_command(sub, "tokens", "API tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="COMMAND")
    tc = add_command(tsub, "create", "print a new API token for user NAME (alone on the last line)")
    tc.add_argument("name", help="the user name")
    tc.add_argument("--token-name", default="cli", help="a label for the token, shown in GET /api/v1/tokens")
    tc.set_defaults(fn=cmd_tokens_create)
    tr = add_command(tsub, "revoke", "revoke the API token with id ID (GET /api/v1/tokens lists them)")
    tr.add_argument("id", type=int, help="the token's id")
    tr.set_defaults(fn=cmd_tokens_revoke)

    ll = add_command(
        sub,
        "login-link",
        "print a login link",
        "print a fresh one-time login link (alone on the last line); "
        "it logs in once within FITSTUDIO_LOGIN_LINK_TTL_S, and the user's earlier login links stop working",
    )
    ll.add_argument("name", nargs="?", default=None, help="the user name (none: the first site admin)")
    ll.add_argument("--url", default=None, help="the service's address (none: FITSTUDIO_PUBLIC_URL)")
    ll.set_defaults(fn=cmd_login_link)
