"""`lora-studio compare` on a tiny run: every adapter x strength x prompt rendered once with the base loaded once,
a labelled grid, finite scores for every cell, and the suggestion in scores.json."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from lora_studio.compare import CompareOptions, compare, default_prompts, plan
from tests.test_train import tiny_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, _lora_studio_cache) -> Path:
    """A finished tiny run with two per-epoch adapters and the final one (3 adapters)."""
    from lora_studio.sample_data import make_sample_dataset
    from lora_studio.train import train

    root = tmp_path_factory.mktemp("compare")
    dataset = make_sample_dataset(root / "dataset", count=6, size=96)
    run = root / "outputs" / "t"
    train(tiny_config(dataset, run, "train.epochs=3", "train.save_every_n_epochs=1", "sample.every_n_steps=0",
                      "sample.prompts=mychar, 1girl"))
    return run


def test_compare_writes_the_grid_and_finite_scores_for_every_cell(tiny_run):
    seen = []
    result = compare(tiny_run, CompareOptions(), on_cell=lambda r, c, p: seen.append((r, c)))
    scores = json.loads((tiny_run / "compare" / "scores.json").read_text())
    rows, columns = scores["rows"], scores["columns"]
    # the base row, then epochs 1 and 2 and the final adapter; 3 prompts (sample prompt + two new places) x 3
    assert [r["label"] for r in rows] == ["base model (strength 0)", "epoch 1 · step 6", "epoch 2 · step 12",
                                         "epoch 3 · step 18 (final)"]
    assert [c["strength"] for c in columns] == [0.6, 0.8, 1.0] * 3
    assert len({c["seed"] for c in columns}) == 3  # one seed per prompt, the same across its strengths
    assert len(seen) == 4 * 9
    for row in rows:
        assert len(row["cells"]) == 9
        for cell in row["cells"]:
            assert all(math.isfinite(cell[k]) and -1 <= cell[k] <= 1 for k in ("dino", "clip_i", "clip_t"))
    assert scores["scorer"] == "tiny" and scores["meaningless"] is True
    suggestion = scores["suggestion"]
    assert suggestion["adapter"].endswith(".safetensors") and suggestion["strength"] in (0.6, 0.8, 1.0)
    assert suggestion["line"].startswith("suggested: ")
    grid = Image.open(result.grid)
    cell_side = Image.open(result.cells[0][0]).size[0]
    assert grid.size[0] > 9 * cell_side and grid.size[1] > 4 * cell_side  # labels around the pictures
    # Every picture carries A1111 parameters: the adapter as <lora:name:strength>, the column's seed.
    params = Image.open(result.cells[2][4]).info["parameters"]
    assert "<lora:t-000002:0.8>" in params and f"Seed: {columns[4]['seed']}" in params
    assert "<lora:" not in Image.open(result.cells[0][4]).info["parameters"]  # the base row has no adapter


def test_a_row_only_swaps_the_adapter_and_matches_a_fresh_load(tiny_run):
    """Rescaling an adapter already loaded gives the same picture as loading it at that strength."""
    import numpy as np

    from lora_studio.generate import GenerateConfig, generate_images, get_pipeline

    pipe = get_pipeline("tiny")
    adapter = tiny_run / "t.safetensors"
    loads = []
    original = pipe.load_lora_weights
    pipe.load_lora_weights = lambda *a, **k: (loads.append(1), original(*a, **k))[1]
    try:
        def picture(strength):
            cfg = GenerateConfig(base="tiny", loras=[f"{adapter}:{strength}"], prompt="mychar", steps=2, seed=3,
                                 width=64, height=64)
            return torch.from_numpy(np.asarray(generate_images(pipe, cfg)[0][0]).copy())

        picture(0)  # whatever an earlier test left loaded is unloaded
        picture(0.6)
        rescaled = picture(1.0)
        assert len(loads) == 1, "a new strength of the same file must not reload it"
        picture(0)  # unloads
        fresh = picture(1.0)
        assert len(loads) == 2
    finally:
        pipe.load_lora_weights = original
    assert torch.equal(rescaled, fresh)


def test_compare_options_and_plan(tiny_run):
    p = plan(tiny_run, CompareOptions(strengths=[1.0], prompts=["mychar, smile"], seed=7))
    assert [(c.prompt, c.strength, c.seed) for c in p.columns] == [("mychar, smile", 1.0, 7)]
    assert p.rows[0].adapter is None and p.rows[-1].final
    assert len(p.references) == 6
    prompts = default_prompts(p.cfg, {"mychar": 6, "beach": 2})
    assert prompts[0] == "mychar, 1girl" and len(prompts) == 3
    assert not any("beach" in x for x in prompts[1:]), "a place the pictures already show is not 'new'"


def test_compare_names_what_is_missing(tmp_path, tiny_run):
    from lora_studio.errors import UserError

    with pytest.raises(UserError, match="not a run folder"):
        plan(tmp_path, CompareOptions())
    with pytest.raises(UserError, match="strength nan"):
        plan(tiny_run, CompareOptions(strengths=[float("nan")]))


def test_cli_compare_prints_the_suggestion(tiny_run):
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "compare", str(tiny_run), "--strengths", "1.0",
                          "--prompt", "mychar, smile"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "suggested: " in out.stdout and "meaningless" in out.stdout + out.stderr
    assert str(tiny_run / "compare" / "grid.png") in out.stdout
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "--lang", "ja", "compare", str(tiny_run),
                          "--strengths", "1.0", "--prompt", "mychar, smile"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"グリッド: {tiny_run / 'compare' / 'grid.png'}" in out.stdout and "★ おすすめ: エポック" in out.stdout
    assert "注意: " in out.stdout and "**" not in out.stdout and "suggested" not in out.stdout
