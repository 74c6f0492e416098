"""Both benchmarks run end to end with --tiny on a CPU: the table comes out with its ratio column and the fast
paths' checks against eager ran and passed. Nothing here asserts on time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--tiny", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def table_rows(output: str, header_start: str) -> tuple[list[str], list[list[str]]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    columns = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return columns, rows


def test_train_step_benchmark_prints_the_table_and_checks_the_graph_step(tmp_path):
    import json

    out = run("train_step.py", "--batches", "1", "--json", str(tmp_path / "rows.json"))
    columns, rows = table_rows(out, "| targets")
    assert {"step ms", "images/s", "peak alloc GiB", "peak reserved GiB", "TFLOP/s", "x baseline", "check"} <= set(columns)
    methods = [row[columns.index("method")] for row in rows]
    assert methods == ["baseline", "cuda_graph (default)", "cuda_graph+ckpt"]  # core rows first; no compile on a CPU
    assert {row[columns.index("rank")] for row in rows} == {"4"} and {row[0] for row in rows} == {"attn"}
    by_method = dict(zip(methods, rows, strict=True))
    assert by_method["cuda_graph (default)"][columns.index("check")].startswith("ok loss rel err")
    assert float(by_method["baseline"][columns.index("TFLOP/s")]) >= 0  # counted by FlopCounterMode, a number
    assert "on fresh inputs with lora_B non-zero): 2/2 ok" in out
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert saved["done"] and [r["method"] for r in saved["rows"]] == ["baseline", "cuda_graph", "cuda_graph+ckpt"]


def test_a_fallen_back_row_is_never_a_win():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import Bench
    from train_step import summary, table_row

    base = dict(targets="attn", rank=4, alpha=4, batch=1, method="baseline", step_s=0.2, first_s=1.0, peak_gib=3.0,
                peak_reserved_gib=3.5, flops=1e12, check="-")
    fell = dict(base, method="cuda_graph", step_s=0.01, check="FELL BACK to eager (capture failed)")
    base["row"], fell["row"] = table_row(base, base), table_row(fell, base)
    assert "fell back: not counted" in fell["row"][9]
    lines = summary([base, fell], Bench(True, 1.0), "attn", 4)
    assert "target batch 1 speed >= 8x baseline: not measured" in lines


def test_generate_benchmark_prints_the_table_and_checks_the_graphed_unet():
    out = run("generate.py", "--steps", "2", "--calls", "1")
    columns, rows = table_rows(out, "| method")
    assert {"UNet it/s", "x baseline", "peak reserved GiB", "check"} <= set(columns)
    methods = {row[0]: row for row in rows}
    assert rows[0][0] == "baseline: diffusers StableDiffusionPipeline, no LoRA"  # no adapter: the plain loop
    assert methods[rows[0][0]][columns.index("x baseline")] == "1.00"
    assert "diffusers StableDiffusionPipeline + LoRA" in methods
    assert methods["lora-studio generate, eager UNet"][columns.index("check")] == "-"  # a truly eager row
    graphed = [row for name, row in methods.items() if "graphed UNet" in name]
    assert graphed and graphed[0][columns.index("check")].startswith("ok (UNet rel err")
    assert "largest pixel difference 0 of 255" in out  # the simulated graph replays the same math


def test_sdxl_benchmark_runs_the_example_loop_and_both_presets_on_tiny_sdxl(tmp_path):
    import json

    out = run("sdxl.py", "--steps", "1", "--json", str(tmp_path / "rows.json"))
    columns, rows = table_rows(out, "| method")
    assert {"step ms", "x baseline", "peak GiB", "target GiB", "check"} <= set(columns)
    methods = {row[columns.index("method")]: row for row in rows}
    assert list(methods) == ["baseline (diffusers SDXL example)", "lora-studio, same LoRA as baseline",
                             "character-sdxl-12gb", "character-sdxl-8gb"]
    assert methods["character-sdxl-12gb"][columns.index("target GiB")] == "10.0"
    assert methods["character-sdxl-8gb"][columns.index("target GiB")] == "7.5"
    assert all("NaN" not in row[columns.index("check")] for row in rows)
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert saved["tiny"] is True and len(saved["rows"]) == 4
