"""Config versions: the `config_version` a run's config.yaml carries, and the migrations that bring an older
release's file up to this one's keys."""

from __future__ import annotations

import typing
from pathlib import Path

from .errors import ConfigError

# Every config file this release writes says `config_version: CONFIG_VERSION`; files without it come from the
# releases before versions existed (2026-12), whose keys are version 1's. When a release renames or moves a key,
# it bumps CONFIG_VERSION and adds MIGRATIONS[old_version]: a function that turns a version-`old` mapping into a
# version-`old + 1` one, so an older run's config.yaml still loads and resumes.
CONFIG_VERSION = 1
MIGRATIONS: dict[int, typing.Callable[[dict], dict]] = {}


def migrate(data: dict, source: str | Path = "config") -> dict:
    """Bring a raw config mapping from its `config_version` up to this release's, without the version key."""
    data = dict(data)
    version = data.pop("config_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError("config.bad_version", path=source, version=version)
    if version > CONFIG_VERSION:
        raise ConfigError("config.newer_version", path=source, version=version, supported=CONFIG_VERSION)
    for old in range(version, CONFIG_VERSION):
        data = MIGRATIONS[old](data)
    return data


def stamped(data: dict) -> dict:
    """The mapping with this release's config_version first, so a later release knows what to migrate from."""
    return {"config_version": CONFIG_VERSION, **data}
