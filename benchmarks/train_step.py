"""Training-step speed and memory: lora-studio's real step vs the diffusers-example loop, in one process on one GPU.

SD1.5-shaped UNet with random weights, 512 px (64x64 latents), 77x768 context, batch 1/4/16, LoRA on the
`default` (kohya) and `attn` targets. Rows:
- baseline: the method of ../shared/bench/baseline_diffusers_loop.py (peft adapter, frozen bf16 base, fp32 adapter,
  plain AdamW, autocast bf16, MSE), with the same target modules and rank as the lora-studio rows;
- eager: lora-studio's eager step (TrainStep.eager_step: the trainer's loss with min-SNR, clipping, fused AdamW);
- cuda_graph: lora-studio's default on CUDA (TrainStep, train.fast_step=auto), checked against eager on first use;
- extras when the budget allows: cuda_graph+channels_last, cuda_graph+ckpt (gradient checkpointing), compile.
Every lora-studio row runs one trainer iteration per step: per-step generator, cached latents/embeddings moved
to the GPU, the step, the trainer's NaN check (`.item()`), the LR scheduler.

Usage: python benchmarks/train_step.py [--tiny] [--budget 540] [--batches 1,4,16] [--targets default,attn]
       [--extras] [--json out.json]      (--tiny runs on a CPU in seconds; there "cuda_graph" is simulated)
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
from lora_studio.steps import step_generator  # noqa: E402
from lora_studio.training_setup import build_optimizer, build_scheduler, make_accelerator  # noqa: E402

COLUMNS = ["targets", "batch", "method", "step ms", "images/s", "peak GiB", "TFLOP/s", "x baseline", "first step s",
           "check"]
EXTRA_SECONDS = {"compile": 240.0}  # don't start a case with less budget left than this (compile is slow)


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
        peak = b.peak_gib()
        flops = count_flops(lambda: step(0))
        return dict(step_s=step_s, first_s=first, peak_gib=peak, flops=flops, check="-")

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
        lr_scheduler = build_scheduler(cfg, optimizer, 10_000)
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
        peak = b.peak_gib()
        key = (targets, batch)
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
        return dict(step_s=step_s, first_s=first, peak_gib=peak, flops=self.flops[key], check=check)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the baseline script's tiny UNet, on any device")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds before remaining cases are skipped")
    parser.add_argument("--batches", default=None, help="comma list (default 1,4,16; tiny 1,2)")
    parser.add_argument("--targets", default="default,attn")
    parser.add_argument("--rank", type=int, default=None, help="LoRA rank for every row (default: the trainer's)")
    parser.add_argument("--extras", action=argparse.BooleanOptionalAction, default=None,
                        help="also channels_last / checkpointing / compile rows (default: on a GPU)")
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("accelerate", "diffusers", "peft"):
        logging.getLogger(name).setLevel(logging.WARNING)

    bench = Bench(args.tiny, args.budget)
    defaults = load_config(None, [])
    rank = args.rank or defaults.lora.rank
    alpha = defaults.lora.alpha * rank / defaults.lora.rank
    batches = [int(x) for x in (args.batches or ("1,2" if args.tiny else "1,4,16")).split(",")]
    targets = args.targets.split(",")
    extras = bench.cuda if args.extras is None else args.extras
    print(f"# train_step on {bench.name}: {environment()}, rank {rank}, alpha {alpha:g}", flush=True)

    cases = [(t, bs, m) for t in targets for bs in batches for m in ("baseline", "eager", "cuda_graph")]
    if extras:
        ends = sorted({batches[0], batches[-1]})
        cases += [(targets[0], bs, m) for m in ("cuda_graph+ckpt", "cuda_graph+channels_last", "compile")
                  for bs in ends]
    runner = Runner(bench, rank, alpha)
    results: list[dict] = []
    for target, batch, method in cases:
        if bench.left() < EXTRA_SECONDS.get(method, 0.0) or bench.left() <= 0:
            print(f"budget: skipped {target} batch {batch} {method}", flush=True)
            continue
        try:
            res = runner.baseline(target, batch) if method == "baseline" else runner.lora_studio(target, batch, method)
        except torch.OutOfMemoryError:
            res = dict(step_s=None, first_s=None, peak_gib=None, flops=None, check="out of memory")
        gc.collect()
        res.update(targets=target, batch=batch, method=method)
        results.append(res)
        ms = res["step_s"] * 1000 if res["step_s"] is not None else None
        print(f"{target} b{batch} {method}: {fmt(ms, '.1f')} ms, "
              f"peak {fmt(res['peak_gib'], '.2f')} GiB, {res['check']}", flush=True)

    base = {(r["targets"], r["batch"]): r for r in results if r["method"] == "baseline" and r["step_s"]}
    rows = []
    for r in results:
        ok = r["step_s"] is not None
        ref = base.get((r["targets"], r["batch"]))
        r["images_per_s"] = r["batch"] / r["step_s"] if ok else None
        r["tflops_per_s"] = r["flops"] / r["step_s"] / 1e12 if ok and r["flops"] else None
        r["x_baseline"] = ref["step_s"] / r["step_s"] if ok and ref else None
        rows.append([r["targets"], str(r["batch"]), r["method"] + (" (default)" if r["method"] == "cuda_graph" else ""),
                     fmt(r["step_s"] * 1000 if ok else None, ".1f"), fmt(r["images_per_s"], ".1f"),
                     fmt(r["peak_gib"], ".2f"), fmt(r["tflops_per_s"], ".1f"), fmt(r["x_baseline"], ".2f"),
                     fmt(r["first_s"], ".1f"), r["check"]])
    print()
    print(markdown_table(COLUMNS, rows))
    print()
    for line in summary(results, bench):
        print(line)
    write_json(args.json, {"environment": environment(), "rank": rank, "alpha": alpha, "rows": results})
    return 0


def summary(results: list[dict], bench: Bench) -> list[str]:
    """The issue's targets against this run (they are H100 targets: a CPU run says nothing about them)."""
    lines = [] if bench.cuda else ["(CPU run: the numbers below only prove the benchmark works, not the targets)"]
    default = [r for r in results if r["method"] == "cuda_graph" and r["step_s"]]
    for r in default:
        if r["batch"] == 1:
            lines.append(f"target batch 1 speed >= 8x baseline ({r['targets']}): {fmt(r['x_baseline'], '.2f')}x")
        if r["batch"] == 16:
            lines.append(f"target batch 16 images/s >= 2x baseline ({r['targets']}): {fmt(r['x_baseline'], '.2f')}x")
    for r in results:
        if r["batch"] == 1 and r["method"] != "baseline" and r["peak_gib"] is not None:
            lines.append(f"target peak memory at batch 1 <= 2.5 GiB ({r['targets']}, {r['method']}): "
                         f"{r['peak_gib']:.2f} GiB")
    checks = [r["check"] for r in results if r["method"] not in ("baseline", "eager")]
    passed = sum(c.startswith("ok") for c in checks)
    lines.append(f"fast-path check (loss, adapter gradients and optimizer update vs eager, rel err < 1e-2): {passed}/{len(checks)} ok")
    return lines


if __name__ == "__main__":
    sys.exit(main())
