"""Training-step speed and memory: lora-studio's real step vs the diffusers-example loop, in one process on one GPU.

SD1.5-shaped UNet with random weights, 512 px (64x64 latents), 77x768 context. The target rows use the anchor's
setting (../shared/PERFORMANCE.md): LoRA rank 4, alpha 4 on `attn` (q/k/v/out). Rows, in this order, each printed
and written to --json as soon as it is done (a killed run keeps what it measured):
1. core, batch 1 then 16: baseline (the method of ../shared/bench/baseline_diffusers_loop.py: peft adapter, frozen
   bf16 base, fp32 adapter, plain AdamW, autocast bf16, MSE), cuda_graph (lora-studio's default on CUDA: TrainStep,
   train.fast_step=auto, checked against eager on first use), cuda_graph+ckpt (with gradient checkpointing);
2. compile (train.fast_step=compile: torch.compile inside the captured step), batch 1 then 16;
3. extras with --extras (default on a GPU): lora-studio's eager step, channels_last, batch 4, and the trainer's own
   default setting (kohya targets, rank 16) at batch 1 and 16.
A row whose fast path fell back to eager says FELL BACK and never counts toward a target.
Every lora-studio row runs one trainer iteration per step: per-step generator, cached latents/embeddings moved
to the GPU, the step, the trainer's NaN check (`.item()`), the LR scheduler.

Usage: python benchmarks/train_step.py [--tiny] [--budget 540] [--extras] [--compile] [--json out.json]
       (--tiny runs on a CPU in seconds; there "cuda_graph" is simulated)
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Bench, count_flops, environment, fmt, markdown_table, write_json  # noqa: E402

from lora_studio.config import load_config  # noqa: E402
from lora_studio.fast_step import TrainStep  # noqa: E402
from lora_studio.graph_runner import EagerReplay  # noqa: E402
from lora_studio.lora import add_lora, resolve_targets  # noqa: E402
from lora_studio.optim import build_lr_schedule, build_optimizer  # noqa: E402
from lora_studio.steps import step_generator  # noqa: E402
from lora_studio.training_setup import make_accelerator  # noqa: E402

COLUMNS = ["targets", "rank", "batch", "method", "step ms", "images/s", "peak alloc GiB", "peak reserved GiB",
           "TFLOP/s", "x baseline", "first step s", "check"]
EXTRA_SECONDS = {"compile": 150.0}  # don't start a case with less budget left than this (compile is slow)


def sd_scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


class Runner:
    def __init__(self, bench: Bench, rank: int, alpha: float) -> None:
        self.bench, self.rank, self.alpha = bench, rank, alpha
        self.flops: dict[tuple, float] = {}
        self.accelerator = None
        self.n = 2 if bench.tiny else 10

    # ---------------------------------------------------------------- the baseline loop (diffusers example)

    def baseline(self, targets: str, batch: int) -> dict:
        from diffusers import DDPMScheduler
        from peft import LoraConfig

        b = self.bench
        unet = b.unet()
        b.reset_memory()
        unet.add_adapter(LoraConfig(r=self.rank, lora_alpha=self.alpha, init_lora_weights="gaussian",
                                    target_modules=resolve_targets(unet, targets)))
        for p in unet.parameters():
            if p.requires_grad:
                p.data = p.data.float()
        lora_params = [p for p in unet.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(lora_params, lr=1e-4)
        sched = DDPMScheduler(num_train_timesteps=1000)

        def step(_i: int) -> None:
            latents = torch.randn(batch, 4, b.latent, b.latent, device=b.device, dtype=b.dtype)
            ctx = torch.randn(batch, 77, b.context, device=b.device, dtype=b.dtype)
            noise = torch.randn_like(latents)
            t = torch.randint(0, 1000, (batch,), device=b.device)
            noisy = sched.add_noise(latents, noise, t)
            with torch.autocast(b.device.type, dtype=b.dtype, enabled=b.cuda):
                pred = unet(noisy, t, ctx).sample
            loss = torch.nn.functional.mse_loss(pred.float(), noise.float())
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        first, step_s = b.timed(step, warmup=3, n=self.n)
        peak, reserved = b.peak_gib(), b.peak_reserved_gib()
        flops = count_flops(lambda: step(0))
        return dict(step_s=step_s, first_s=first, peak_gib=peak, peak_reserved_gib=reserved, flops=flops, check="-")

    # ---------------------------------------------------------------- lora-studio's step

    def lora_studio(self, targets: str, batch: int, method: str) -> dict:
        b = self.bench
        mode = {"eager": "eager", "compile": "compile"}.get(method, "cuda_graph")
        cfg = load_config(None, [f"lora.rank={self.rank}", f"lora.alpha={self.alpha}", f"lora.targets={targets}",
                                 f"train.batch_size={batch}", f"train.mixed_precision={'bf16' if b.cuda else repr('no')}"])
        if self.accelerator is None:
            self.accelerator = make_accelerator(cfg, Path(tempfile.mkdtemp(prefix="ls-bench-")))
        accelerator = self.accelerator
        unet = b.unet()
        b.reset_memory()
        torch.manual_seed(cfg.train.seed)
        params = add_lora(unet, cfg.lora)
        if method.endswith("+ckpt"):
            unet.enable_gradient_checkpointing()
        unet.train()
        if b.cuda:
            optimizer = build_optimizer(cfg, params, b.device)
        else:  # the trainer's CPU optimizer is not fused; the simulated graph path needs the fused one
            optimizer = torch.optim.AdamW(params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay,
                                          fused=True)
        lr_scheduler = build_lr_schedule(cfg, optimizer, 10_000)
        unet, optimizer = accelerator.prepare(unet, optimizer)
        runner = None if b.cuda or mode == "eager" else EagerReplay()
        step_obj = TrainStep(unet, optimizer, params, sd_scheduler(), cfg, prediction_type="epsilon", device=b.device,
                             weight_dtype=b.dtype, mode=mode, runner=runner,
                             channels_last=method.endswith("+channels_last"))
        cached_latents = torch.randn(batch, 4, b.latent, b.latent).to(b.dtype)  # as the latent cache holds them
        cached_embeddings = torch.randn(batch, 77, b.context).to(b.dtype)

        def step(i: int) -> torch.Tensor:
            gen = step_generator(cfg.train.seed, i, 0, b.device)
            lat = cached_latents.to(b.device, b.dtype)
            emb = cached_embeddings.to(b.device, b.dtype)
            with accelerator.autocast():
                loss = step_obj(lat, emb, gen)
                if loss is None:
                    loss = step_obj.eager_step(lat, emb, gen)
            if not torch.isfinite(loss).item():  # the trainer's per-step NaN check
                raise RuntimeError("non-finite loss in the benchmark")
            lr_scheduler.step()
            return loss

        first, step_s = b.timed(step, warmup=3, n=self.n)
        peak, reserved = b.peak_gib(), b.peak_reserved_gib()
        key = (targets, self.rank, batch)
        if key not in self.flops:
            lat, emb = cached_latents.to(b.device), cached_embeddings.to(b.device)
            with accelerator.autocast():
                self.flops[key] = count_flops(lambda: step_obj.eager_step(lat, emb, step_generator(0, 0, 0, b.device)))
        check = "-"
        if mode != "eager":
            checks = "; ".join(("ok " if c.ok else "MISMATCH ") + c.describe() for c in step_obj.checks)
            check = checks if step_obj.active else f"FELL BACK to eager ({checks or 'capture failed'})"
        accelerator.free_memory()  # the caller collects the rest (graphs, pools) once this frame is gone
        if mode == "compile":
            torch._dynamo.reset()
        return dict(step_s=step_s, first_s=first, peak_gib=peak, peak_reserved_gib=reserved, flops=self.flops[key],
                    check=check)


def plan_cases(batches: list[int], targets: str, rank: int, alpha: float, extras: bool, compile_rows: bool,
               trainer_default: tuple[str, int, float]) -> list[tuple[str, int, float, int, str]]:
    """(targets, rank, alpha, batch, method) in the order they run: core rows, compile, then the extras."""
    ends = sorted({batches[0], batches[-1]})
    cases = [(targets, rank, alpha, bs, m) for bs in ends for m in ("baseline", "cuda_graph", "cuda_graph+ckpt")]
    cases += [(targets, rank, alpha, bs, "compile") for bs in ends if compile_rows]
    if extras:
        cases += [(targets, rank, alpha, bs, "eager") for bs in ends]
        cases += [(targets, rank, alpha, batches[0], "cuda_graph+channels_last")]
        cases += [(targets, rank, alpha, bs, m) for bs in batches if bs not in ends for m in ("baseline", "cuda_graph")]
        t, r, a = trainer_default
        if (t, r) != (targets, rank):
            cases += [(t, r, a, bs, m) for bs in ends for m in ("baseline", "cuda_graph")]
    return cases


def fell_back(row: dict) -> bool:
    return row["check"].startswith(("FELL BACK", "out of memory")) or row["step_s"] is None


def table_row(r: dict, base: dict | None) -> list[str]:
    ok = r["step_s"] is not None
    r["images_per_s"] = r["batch"] / r["step_s"] if ok else None
    r["tflops_per_s"] = r["flops"] / r["step_s"] / 1e12 if ok and r["flops"] else None
    r["x_baseline"] = base["step_s"] / r["step_s"] if ok and base else None
    ratio = fmt(r["x_baseline"], ".2f")
    if r["method"] != "baseline" and fell_back(r) and ok:
        ratio += " (fell back: not counted)"
    return [r["targets"], str(r["rank"]), str(r["batch"]),
            r["method"] + (" (default)" if r["method"] == "cuda_graph" else ""),
            fmt(r["step_s"] * 1000 if ok else None, ".1f"), fmt(r["images_per_s"], ".1f"), fmt(r["peak_gib"], ".2f"),
            fmt(r.get("peak_reserved_gib"), ".2f"), fmt(r["tflops_per_s"], ".1f"), ratio, fmt(r["first_s"], ".1f"),
            r["check"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the baseline script's tiny UNet, on any device")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds before remaining cases are skipped")
    parser.add_argument("--batches", default=None, help="comma list (default 1,16, plus 4 with --extras; tiny 1,2)")
    parser.add_argument("--targets", default="attn", help="targets of the target rows (the anchor's: attn)")
    parser.add_argument("--rank", type=int, default=4, help="LoRA rank of the target rows (the anchor's: 4)")
    parser.add_argument("--alpha", type=float, default=4.0, help="LoRA alpha of the target rows (the anchor's: 4)")
    parser.add_argument("--extras", action=argparse.BooleanOptionalAction, default=None,
                        help="also eager / channels_last / batch 4 / the trainer's default setting (default: on a GPU)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="the torch.compile rows (default: on a GPU; compiling on a CPU takes many minutes)")
    parser.add_argument("--json", default=None, help="write the rows as JSON here, after each row")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("accelerate", "diffusers", "peft"):
        logging.getLogger(name).setLevel(logging.WARNING)

    bench = Bench(args.tiny, args.budget)
    extras = bench.cuda if args.extras is None else args.extras
    default_batches = "1,2" if args.tiny else ("1,4,16" if extras else "1,16")
    batches = [int(x) for x in (args.batches or default_batches).split(",")]
    trainer = load_config(None, [])
    compile_rows = bench.cuda if args.compile is None else args.compile
    cases = plan_cases(batches, args.targets, args.rank, args.alpha, extras, compile_rows,
                       (trainer.lora.targets, trainer.lora.rank, trainer.lora.alpha))
    print(f"# train_step on {bench.name}: {environment()}; target rows: {args.targets}, rank {args.rank}, alpha "
          f"{args.alpha:g}", flush=True)
    print(markdown_table(COLUMNS, []), flush=True)
    runner = Runner(bench, args.rank, args.alpha)
    results: list[dict] = []
    for target, rank, alpha, batch, method in cases:
        if bench.left() < EXTRA_SECONDS.get(method, 0.0) or bench.left() <= 0:
            print(f"budget: skipped {target} rank {rank} batch {batch} {method}", flush=True)
            continue
        runner.rank, runner.alpha = rank, alpha
        try:
            res = runner.baseline(target, batch) if method == "baseline" else runner.lora_studio(target, batch, method)
        except torch.OutOfMemoryError:
            res = dict(step_s=None, first_s=None, peak_gib=None, peak_reserved_gib=None, flops=None,
                       check="out of memory")
        gc.collect()
        res.update(targets=target, rank=rank, alpha=alpha, batch=batch, method=method)
        base = next((r for r in results if r["method"] == "baseline" and r["step_s"] and
                     (r["targets"], r["rank"], r["batch"]) == (target, rank, batch)), None)
        res["row"] = table_row(res, base)
        results.append(res)
        print("| " + " | ".join(res["row"]) + " |", flush=True)
        write_json(args.json, {"environment": environment(), "rows": results, "done": False})

    print()
    print(markdown_table(COLUMNS, [r["row"] for r in results]))
    print()
    for line in summary(results, bench, args.targets, args.rank):
        print(line)
    write_json(args.json, {"environment": environment(), "rows": results, "done": True})
    return 0


def summary(results: list[dict], bench: Bench, targets: str, rank: int) -> list[str]:
    """The issue's targets against this run's target rows (H100/H200 targets: a CPU run says nothing about them).
    Rows that fell back to eager are never counted."""
    lines = [] if bench.cuda else ["(CPU run: the numbers below only prove the benchmark works, not the targets)"]
    target_rows = [r for r in results if (r["targets"], r["rank"]) == (targets, rank) and r["method"] != "baseline"]
    counted = [r for r in target_rows if not fell_back(r)]
    for batch, goal, what in ((1, 8.0, "speed"), (16, 2.0, "images/s")):
        best = max((r for r in counted if r["batch"] == batch and r["x_baseline"]), key=lambda r: r["x_baseline"],
                   default=None)
        got = f"{best['x_baseline']:.2f}x ({best['method']})" if best else "not measured"
        lines.append(f"target batch {batch} {what} >= {goal:g}x baseline: {got}")
    peaks = [r for r in counted if r["batch"] == 1 and r["peak_gib"] is not None]
    for r in peaks:
        lines.append(f"target peak memory at batch 1 <= 2.5 GiB ({r['method']}): allocated {r['peak_gib']:.2f}, "
                     f"reserved {fmt(r['peak_reserved_gib'], '.2f')} GiB")
    checks = [r["check"] for r in results if r["method"] not in ("baseline", "eager")]
    passed = sum(c.startswith("ok") for c in checks)
    lines.append(f"fast-path check (loss, adapter gradients and optimizer update vs eager, on fresh inputs with "
                 f"lora_B non-zero): {passed}/{len(checks)} ok")
    return lines


if __name__ == "__main__":
    sys.exit(main())
