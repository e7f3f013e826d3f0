"""The worker's copy of a training's TensorBoard event files (worker/tensorboard_logs.py): only plain event files,
never through a link the untrusted code left, appended as they grow, bounded."""

from __future__ import annotations

import os
from pathlib import Path

from worker.tensorboard_logs import Collector, session_collector

EVENTS = "events.out.tfevents.1700000000.host.1.0.v2"


def _tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    logdir, scratch, dest = tmp_path / "s1.out" / "tensorboard", tmp_path / "s1", tmp_path / "session" / "tensorboard"
    logdir.mkdir(parents=True)
    scratch.mkdir()
    return logdir, scratch, dest


def test_base_and_user_event_files_are_copied_to_their_folders(tmp_path: Path) -> None:
    logdir, scratch, dest = _tree(tmp_path)
    (logdir / EVENTS).write_bytes(b"base")
    (scratch / "tensorboard_logs" / "train").mkdir(parents=True)
    (scratch / "tensorboard_logs" / "train" / EVENTS).write_bytes(b"user")
    (scratch / "training.csv").write_text("epoch,loss\n")  # not an event file: stays
    session_collector(dest, logdir, scratch).sync()
    assert (dest / "fitstudio" / EVENTS).read_bytes() == b"base"
    assert (dest / "user" / "tensorboard_logs" / "train" / EVENTS).read_bytes() == b"user"
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == [EVENTS, EVENTS]


def test_a_growing_file_is_appended_to_not_replaced(tmp_path: Path) -> None:
    logdir, scratch, dest = _tree(tmp_path)
    collector = session_collector(dest, logdir, scratch)
    (logdir / EVENTS).write_bytes(b"epoch1;")
    collector.sync()
    copy = dest / "fitstudio" / EVENTS
    inode = copy.stat().st_ino
    with open(logdir / EVENTS, "ab") as fh:
        fh.write(b"epoch2;")
    collector.sync()
    collector.sync()
    assert copy.read_bytes() == b"epoch1;epoch2;"
    assert copy.stat().st_ino == inode  # TensorBoard keeps reading the file it has open


def test_links_and_special_files_are_never_followed(tmp_path: Path) -> None:
    logdir, scratch, dest = _tree(tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / EVENTS).write_bytes(b"another session's logs")
    (scratch / "link").symlink_to(secret / EVENTS)
    os.rename(scratch / "link", scratch / (EVENTS + ".link"))
    (scratch / "dirlink").symlink_to(secret, target_is_directory=True)
    os.link(secret / EVENTS, scratch / "events.out.tfevents.hardlink")
    os.mkfifo(scratch / "events.out.tfevents.fifo")
    session_collector(dest, logdir, scratch).sync()
    assert not [p for p in dest.rglob("*") if p.is_file()]


def test_the_total_is_bounded(tmp_path: Path) -> None:
    logdir, scratch, dest = _tree(tmp_path)
    (logdir / EVENTS).write_bytes(b"x" * 100)
    (scratch / EVENTS).write_bytes(b"y" * 100)
    collector = Collector(dest, [(logdir, "fitstudio"), (scratch, "user")], max_bytes=150)
    collector.sync()
    collector.sync()
    assert collector.total == 150
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) == 150


def test_running_syncs_while_the_block_runs_and_once_at_its_end(tmp_path: Path) -> None:
    from tests.helpers import wait_for

    logdir, scratch, dest = _tree(tmp_path)
    (logdir / EVENTS).write_bytes(b"a")
    with session_collector(dest, logdir, scratch).running(every_s=0.05):
        wait_for((dest / "fitstudio" / EVENTS).exists, 5, "the first sync", every=0.02)
        assert (dest / "fitstudio" / EVENTS).read_bytes() == b"a"  # live, before the end
        (scratch / EVENTS).write_bytes(b"late")
    assert (dest / "user" / EVENTS).read_bytes() == b"late"
