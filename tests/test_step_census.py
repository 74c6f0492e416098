"""The step census counts the trainer's own captured step on the meta device: on the `tiny` shape its last line
has the promised form, and the lean layers show up as what they are for (fewer casts, fewer kernels, fewer saved
bytes than the plain autocast step), with CUDA's bf16 autocast reproduced (the plain step casts, the fast one not)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def census_line(*args: str) -> tuple[dict[str, float], str]:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "step_census.py"), "--shape", "tiny", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"aten_ops=(\d+) saved_activation_gib=([\d.]+) weights_gib=([\d.]+)", last)
    assert match, last
    return {"ops": int(match[1]), "saved": float(match[2]), "weights": float(match[3])}, result.stdout


def test_census_of_the_tiny_step_prints_its_numbers_and_the_fast_step_is_leaner():
    fast, out = census_line("--ops", "200")
    plain, plain_out = census_line("--step", "plain")
    assert fast["weights"] == plain["weights"] > 0
    assert 0 < fast["ops"] < plain["ops"] and 0 < fast["saved"] <= plain["saved"]
    casts = {name: int(re.search(r"casts and copies: (\d+)", text)[1]) for name, text in (("fast", out),
                                                                                            ("plain", plain_out))}
    assert casts["plain"] > 100 > casts["fast"], casts  # autocast's per-layer casts, gone in the lean step
    assert "_fused_adamw_" in out and "convolution_backward" in out  # the optimizer and the backward are counted


def test_meta_autocast_casts_as_cuda_autocast_does():
    import torch
    from step_census import MetaAutocast

    x = torch.empty(2, 8, device="meta")
    w = torch.empty(8, 8, device="meta", dtype=torch.bfloat16)
    with MetaAutocast():
        y = torch.nn.functional.linear(x, w)
        z = torch.nn.functional.layer_norm(y, (8,))
        with MetaAutocast.off():
            kept = torch.nn.functional.layer_norm(y, (8,))
    assert (y.dtype, z.dtype, kept.dtype) == (torch.bfloat16, torch.float32, torch.bfloat16)
