"""Where the studio reads and writes: `<root>/datasets/` and `<root>/outputs/`, and nothing outside them.

Every name that comes from a browser (dataset names, uploaded file names, zip entries) passes through here,
so `../`, absolute paths and symlinks can never make the studio write or serve a file elsewhere.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .config import preset_folder
from .errors import StudioError
from .text import Text

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StudioPaths:
    root: Path

    @classmethod
    def at(cls, root: str | Path) -> StudioPaths:
        paths = cls(Path(root).expanduser().resolve())
        paths.datasets.mkdir(parents=True, exist_ok=True)
        paths.outputs.mkdir(parents=True, exist_ok=True)
        return paths

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def generated(self) -> Path:
        return self.outputs / "generated"

    @property
    def lessons(self) -> Path:
        return self.outputs / "lessons"

    def dataset(self, name: str) -> Path:
        """`datasets/<name>`; a dataset folder that is itself a link is refused here, the one place every action
        (upload, tags, delete, zip, training, the lesson) turns a dataset name into a folder."""
        folder = self.datasets / check_name(name, "dataset name")
        if folder.is_symlink():
            raise StudioError("ds_folder_link", name=folder.name)
        return folder

    def dataset_folder(self, path: str | Path, key: str = "dataset.path") -> Path:
        """A dataset folder given as a path (a config's dataset.path, the lesson's data.path): it must lie under
        datasets/ and no part of it from datasets/ down may be a link (the link would lead anywhere)."""
        folder = Path(os.path.abspath(Path(path).expanduser()))  # '..' collapsed, links not followed
        if folder == self.datasets or not folder.is_relative_to(self.datasets):
            raise StudioError("tr_outside_datasets", key=key, path=str(path), datasets=str(self.datasets))
        probe = self.datasets
        for part in folder.relative_to(self.datasets).parts:
            probe = probe / part
            if probe.is_symlink():
                raise StudioError("ds_folder_link", name=probe.relative_to(self.datasets).as_posix())
        return folder

    def run(self, name: str) -> Path:
        return self.outputs / check_name(name, "run name")

    def served(self) -> list[str]:
        """The only folders the web server may hand files out of (gradio `allowed_paths`)."""
        return [str(self.datasets), str(self.outputs)]

    def preset_files(self, lesson: bool = False) -> dict[str, Path]:
        """Preset name -> YAML file: the shipped presets, then `<root>/configs/` (same name wins later).

        Training presets and lesson presets (`lesson-*.yaml`) are told apart by name.
        """
        found: dict[str, Path] = {}
        for folder in (preset_folder(), self.root / "configs"):
            if folder.is_dir():
                for path in sorted(folder.glob("*.yaml")):
                    if path.stem.startswith("lesson") == lesson:
                        found[path.stem] = path
        return found


def check_name(name: str, what: str) -> str:
    """A dataset or run name: one folder level, letters/digits/`._-`, so it cannot point anywhere else."""
    name = (name or "").strip()
    if not _NAME.match(name) or name in (".", ".."):
        label = {"dataset name": "what_dataset", "run name": "what_run"}.get(what)
        raise StudioError("bad_name", what=Text(label) if label else what, name=name)
    return name


def suggest_name(text: str, fallback: str = "my-dataset") -> str:
    """Turn free text (a zip's file name, a title) into a valid name."""
    name = _UNSAFE_CHARS.sub("-", text).strip("-._")[:64]
    return name if _NAME.match(name or "") else fallback


def safe_relative(name: str) -> PurePosixPath:
    """An uploaded file name or zip entry as a relative path that stays inside its folder.

    Rejects `..`, absolute paths (also Windows `C:\\` and `\\\\server`) and hidden parts instead of
    silently rewriting them, so the user learns which file was refused and why.
    """
    raw = (name or "").replace("\\", "/")
    if not raw.strip() or raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise StudioError("up_absolute", name=name)
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise StudioError("up_outside", name=name)
    if not parts or any(part.startswith(".") for part in parts):
        raise StudioError("up_hidden", name=name)
    return PurePosixPath(*parts)


def inside(folder: Path, relative: PurePosixPath | str) -> Path:
    """`folder / relative`, refusing any symlink on the way and anything that resolves outside `folder`."""
    if folder.is_symlink():  # a linked dataset folder: writing "inside" it would write wherever it points
        raise StudioError("ds_folder_link", name=folder.name)
    folder = folder.resolve()
    target = folder.joinpath(*PurePosixPath(relative).parts)
    probe = folder
    for part in PurePosixPath(relative).parts:
        probe = probe / part
        if probe.is_symlink():
            raise StudioError("path_link", name=str(relative))
    if not target.resolve().is_relative_to(folder):
        raise StudioError("path_outside", name=str(relative), folder=folder.name)
    return target


def links_in(folder: Path) -> list[str]:
    """The symbolic links inside `folder` (relative names), found without following any of them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):  # os.walk does not descend into linked folders
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                found.append(path.relative_to(folder).as_posix())
    return sorted(found)


def list_datasets(paths: StudioPaths) -> list[str]:
    return sorted(p.name for p in paths.datasets.iterdir() if p.is_dir() and _NAME.match(p.name))


def _last_change(folder: Path) -> float:
    """When a picture or tag file in the folder (or one of its N_name folders) last changed."""
    times = [folder.stat().st_mtime]
    for entry in os.scandir(folder):
        if not entry.is_symlink():
            times.append(entry.stat().st_mtime)
            if entry.is_dir():
                times += [sub.stat().st_mtime for sub in os.scandir(entry.path) if not sub.is_symlink()]
    return max(times)


def newest_dataset(paths: StudioPaths) -> str | None:
    """The dataset the user worked on last: the one to open when the page loads."""
    names = [name for name in list_datasets(paths) if not (paths.datasets / name).is_symlink()]
    return max(names, key=lambda name: _last_change(paths.datasets / name)) if names else None
