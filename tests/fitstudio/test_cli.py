"""The `fitstudio` command (issue 19): help and --version, set-password (prompted on a terminal, or from stdin), and
login links (`login-link`, and the fresh one every start of `fitstudio api` prints)."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fitstudio import cli
from tests import helpers
from tests.conftest import Api

LINK = re.compile(r"(https?://\S+)/login\?token=(\S+)")
HTML = {"accept": "text/html"}
PROMPT = re.compile(rb"(?:new password for \S+|the same again): ")


def _commands(parser: argparse.ArgumentParser, path: str = "fitstudio") -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser under PARSER with its command line, depth first."""
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, f"{path} {name}")
    return found


def test_every_command_has_a_description_and_its_help_shows_defaults() -> None:
    commands = _commands(cli.parser())
    names = {path for path, _ in commands}
    assert {"fitstudio users set-password", "fitstudio login-link", "fitstudio weights import"} <= names
    for path, parser in commands:
        assert parser.description and len(parser.description) > 10, f"{path} has no description"
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest in ("help", "version"):
                continue
            assert action.help, f"{path} {action.option_strings or action.dest} has no help"
            empty = action.default is None or action.default is False or action.default == ""
            if not empty:  # empty defaults are said in words by the help ("none: CPU only")
                shown = f"(default: {action.default})"
                assert shown in " ".join(text.split()), f"{path} does not show {shown}"
    top = cli.parser().format_help()
    assert "login-link" in top and "set a user's password" not in top  # summaries at their level
    assert "set a user's password" in dict(commands)["fitstudio users"].format_help()


def test_version_prints_the_installed_version() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "fitstudio.cli", "--version"], capture_output=True, text=True, cwd=helpers.ROOT
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"fitstudio {importlib.metadata.version('fitstudio')}"


def _cli(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """A real `fitstudio ARGV` on the test's FITSTUDIO_HOME (the environment configure() set)."""
    command = [sys.executable, "-m", "fitstudio.cli", *argv]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=helpers.ROOT, timeout=120)


def _log_in(api: Api, username: str, password: str) -> TestClient:
    """A browser that logged in with the form (asserting it worked)."""
    browser = TestClient(api.client.app)
    r = browser.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return browser


def _logged_in(browser: TestClient) -> bool:
    return browser.get("/workers", headers=HTML, follow_redirects=False).status_code == 200


def test_set_password_from_stdin_lets_the_user_log_in_and_ends_other_sessions(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["users", "create", "ada19"]) == 0  # created without a password: the form refuses her
    assert TestClient(api.client.app).post("/login", data={"username": "ada19", "password": ""}).status_code == 401
    run = _cli("users", "set-password", "ada19", "--password-stdin", stdin="first-pw-19\n")
    assert run.returncode == 0, run.stderr
    assert "password of ada19 set" in run.stdout and "first-pw-19" not in run.stdout
    earlier = _log_in(api, "ada19", "first-pw-19")
    assert _logged_in(earlier)

    monkeypatch.setattr(sys, "stdin", io.StringIO("second-pw-19\r\n"))  # the rest in-process: quicker
    assert cli.main(["users", "set-password", "ada19", "--password-stdin"]) == 0
    assert not _logged_in(earlier), "a new password ends the user's web sessions"
    assert (
        TestClient(api.client.app).post("/login", data={"username": "ada19", "password": "first-pw-19"}).status_code
        == 401
    )
    assert _logged_in(_log_in(api, "ada19", "second-pw-19"))

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert cli.main(["users", "set-password", "ada19", "--password-stdin"]) == 1
    assert "the password is empty" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("x\n"))
    assert cli.main(["users", "set-password", "nobody19", "--password-stdin"]) == 1
    assert "no user 'nobody19'" in capsys.readouterr().err
    assert _logged_in(_log_in(api, "ada19", "second-pw-19")), "a refused change changes nothing"


def _on_a_terminal(argv: list[str], answers: list[str]) -> tuple[int, str]:
    """Run `fitstudio ARGV` on a pseudo-terminal, typing each answer after a prompt (': '); its exit and output."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(  # a session of its own: getpass reads the pty, never the terminal running pytest
        [sys.executable, "-m", "fitstudio.cli", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=helpers.ROOT,
        start_new_session=True,
    )
    os.close(slave)
    out, pending = b"", list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            asked = len(PROMPT.findall(out))  # type only after a new prompt: echo is off only while it waits
            if pending and asked > len(answers) - len(pending) and out.endswith(b": "):
                os.write(master, pending.pop(0).encode() + b"\n")
        elif proc.poll() is not None:
            break
    os.close(master)
    if proc.poll() is None:
        helpers.stop_process(proc)
    return proc.wait(timeout=30), out.decode(errors="replace")


def test_set_password_asks_twice_without_echo(api: Api) -> None:
    assert cli.main(["users", "create", "bob19"]) == 0
    code, out = _on_a_terminal(["users", "set-password", "bob19"], ["typed-pw-19", "other-pw-19"])
    assert code == 1 and "the two passwords differ" in out, out
    assert "new password for bob19:" in out and "typed-pw-19" not in out, "the password is not echoed"
    assert (
        TestClient(api.client.app).post("/login", data={"username": "bob19", "password": "typed-pw-19"}).status_code
        == 401
    )

    code, out = _on_a_terminal(["users", "set-password", "bob19"], ["typed-pw-19", "typed-pw-19"])
    assert code == 0 and "password of bob19 set" in out, out
    assert "typed-pw-19" not in out
    assert _logged_in(_log_in(api, "bob19", "typed-pw-19"))


def _link_tokens(username: str) -> int:
    from sqlalchemy import func, select

    from server.db import session_scope
    from server.models import ApiToken, User
    from server.services.bootstrap import LINK_TOKEN_NAME

    with session_scope() as db:
        query = select(func.count(ApiToken.id)).join(User).where(User.username == username)
        return int(db.scalar(query.where(ApiToken.name == LINK_TOKEN_NAME)) or 0)


def _printed_link(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().out.strip().splitlines()
    assert LINK.fullmatch(lines[-1]), lines
    return lines[-1]


def _use(api: Api, link: str) -> tuple[int, TestClient]:
    browser = TestClient(api.client.app)
    path = link.split("/", 3)[3]
    return browser.get(f"/{path}", follow_redirects=False).status_code, browser


def test_login_link_is_one_time_and_a_new_one_replaces_the_old(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["login-link"]) == 1  # the fixture's owner is no site admin
    assert "no site admin" in capsys.readouterr().err
    assert cli.main(["users", "create", "root19", "--admin"]) == 0
    assert cli.main(["login-link", "nobody19"]) == 1 and "no user 'nobody19'" in capsys.readouterr().err

    assert cli.main(["login-link"]) == 0  # the first site admin by default
    first = _printed_link(capsys)
    assert first.startswith(f"{api.settings.public_url}/login?token=fst_")
    assert cli.main(["login-link", "root19", "--url", "https://fit.example/"]) == 0
    second = _printed_link(capsys)
    assert second.startswith("https://fit.example/login?token=fst_")
    assert _link_tokens("root19") == 1, "an earlier link's token is deleted, not kept"

    assert _use(api, first)[0] == 401, "a newer link replaces the older one"
    status, browser = _use(api, second)
    assert status == 303 and _logged_in(browser)
    assert _use(api, second)[0] == 401, "a link logs in once"
    assert cli.main(["login-link", "root19"]) == 0
    third = _printed_link(capsys)
    assert _logged_in(browser), "a newer link leaves the sessions earlier links started"
    assert _use(api, third)[0] == 303
    assert cli.main(["login-link", "owner"]) == 0 and _link_tokens("owner") == 1  # any user, by name
    assert _link_tokens("root19") == 1


def _start_api(port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fitstudio.cli", "api", "--port", str(port)],
            cwd=helpers.ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _start_link(proc: subprocess.Popen[bytes], log: Path) -> str:
    """The login link a starting `fitstudio api` printed."""

    def link() -> str | None:
        found = LINK.search(log.read_text(errors="replace"))
        assert found or proc.poll() is None, log.read_text(errors="replace")[-2000:]
        return found.group(0) if found else None

    return str(helpers.wait_for(link, 120, "fitstudio api's login link"))


def test_every_start_of_api_prints_a_fresh_login_link(api: Api, tmp_path: Path) -> None:
    assert cli.main(["users", "create", "root19", "--admin"]) == 0
    links = []
    for start in range(2):
        port, log = helpers.free_port(), tmp_path / f"api-{start}.log"
        proc = _start_api(port, log)
        try:
            links.append(_start_link(proc, log))
        finally:
            helpers.stop_process(proc)
        text = log.read_text()
        assert f"log in as root19 (works once, within 1 day; a newer link replaces it): {links[-1]}" in text
        assert f"http://127.0.0.1:{port}/login?token=" in links[-1]
    assert links[0] != links[1]
    assert _use(api, links[0])[0] == 401 and _use(api, links[1])[0] == 303
    assert _link_tokens("root19") == 1


def test_ttl_words() -> None:
    from fitstudio.cli_common import ttl_words

    assert [ttl_words(s) for s in (86400, 7200, 3600, 60, 90)] == [
        "1 day",
        "2 hours",
        "1 hour",
        "1 minute",
        "90 seconds",
    ]
