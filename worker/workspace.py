"""A training's folders under the scratch root: what its sandbox may write, and what only the worker may."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    """`<name>/` is the training's working folder and `<name>.out/` its results (both the sandbox's to write);
    `<name>.granted/` holds the models the worker granted it and `<name>.log` a dry run's output (the worker's).
    Side by side rather than nested, so the training can never rename a folder the worker later reads from."""

    scratch: Path

    @property
    def name(self) -> str:
        """The scratch folder's name (s<session>-l<lease> or dry<id>)."""
        return self.scratch.name

    @property
    def out(self) -> Path:
        """Where the child writes result.json / error.json / model.keras."""
        return self.scratch.with_name(f"{self.name}.out")

    @property
    def granted(self) -> Path:
        """Models granted to the training's load helpers (read-only inside the sandbox)."""
        return self.scratch.with_name(f"{self.name}.granted")

    @property
    def tmp(self) -> Path:
        """The training's TMPDIR, shown as /tmp inside its sandbox."""
        return self.scratch / "tmp"

    @property
    def log(self) -> Path:
        """A dry run's output."""
        return self.scratch.with_name(f"{self.name}.log")

    def create(self) -> None:
        """Make the folders (fresh)."""
        self.remove()
        for folder in (self.scratch, self.out, self.granted):
            folder.mkdir(parents=True, mode=0o755)
        self.tmp.mkdir()

    def remove(self) -> None:
        """Delete everything of it (rmtree never follows the links a training may leave)."""
        for folder in (self.scratch, self.out, self.granted):
            shutil.rmtree(folder, ignore_errors=True)
        self.log.unlink(missing_ok=True)


def owner_name(entry: str) -> str:
    """The scratch name an entry of the scratch root belongs to (`s1-l2.out` -> `s1-l2`)."""
    return entry.split(".", 1)[0]
