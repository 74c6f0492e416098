"""A plain (not editable) install has everything it needs: the wheel carries the presets, and the quickstart runs
from another folder with nothing from the source tree on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _packages_in_pyproject() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_subpackage_is_listed_in_pyproject():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lora_studio").rglob("__init__.py")}
    assert found <= _packages_in_pyproject(), f"add {sorted(found - _packages_in_pyproject())} to pyproject.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, env=dict(os.environ, PIP_NO_INPUT="1"))
    (found,) = out.glob("lora_studio-*.whl")
    return found


def test_the_wheel_carries_every_preset_and_no_repo_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("lora_studio/presets/")}
    assert shipped == {p.name for p in (ROOT / "configs").glob("*.yaml")}
    assert not [n for n in names if n.split("/")[0] in ("tests", "configs", "datasets", "outputs", "benchmarks")]


@pytest.mark.slow
def test_the_quickstart_runs_from_another_folder_after_a_plain_install(wheel, tmp_path, tiny_base_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))  # the installed copy first; the checkout is not on the path
    where = subprocess.run([sys.executable, "-c", "import lora_studio; print(lora_studio.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(site)
    done = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", "configs/quickstart.yaml",
                           "train.max_train_steps=2", "train.checkpoint_every_n_steps=0", "sample.every_n_steps=0",
                           "sample.steps=1"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (elsewhere / "outputs" / "quickstart" / "quickstart.safetensors").is_file()
    assert len(list((elsewhere / "datasets" / "sample-character").glob("*.png"))) == 8
