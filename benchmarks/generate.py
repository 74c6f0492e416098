"""Generation speed: 30 steps with classifier-free guidance at 512 px, lora-studio's generate vs the plain diffusers
StableDiffusionPipeline without a LoRA (the baseline) and with the same adapter, in one process on one GPU.

SD1.5-shaped pipeline with random weights (UNet, VAE, 12-layer CLIP text encoder; the offline tiny tokenizer),
float16 as lora-studio generates on CUDA, Euler a for every row, one LoRA (default targets) from a kohya file.
Rows (UNet it/s = steps / seconds per image, text encoding and VAE decode included, as the baseline script counts):
- baseline: the plain `pipe(...)` loop with no LoRA loaded (what the targets are measured against);
- diffusers + LoRA: `pipe.load_lora_weights(file)` once, then `pipe(...)`;
- lora-studio generate, eager UNet: `generate_images(pipe, cfg)` with `cuda_graphs=False` (`lora-studio generate --eager`);
- lora-studio generate: `generate_images(pipe, cfg)` as the CLI and the studio call it; on CUDA its UNet calls
  replay CUDA graphs (`fast_generate.graphed_unet`, the default). Both lora-studio rows load the adapter on their
  first call and keep it (generate_images reloads only when the adapters or their scales change).

Usage: python benchmarks/generate.py [--tiny] [--steps 30] [--budget 240] [--json out.json]
       (--tiny: the offline tiny base at 64 px on any device; on a CPU the graph is simulated)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SD15_UNET, environment, fmt, markdown_table, write_json  # noqa: E402

from lora_studio.fast_generate import graphed_unet, release_graphs  # noqa: E402
from lora_studio.generate import GenerateConfig, generate_images, sampler_scheduler, unload_loras  # noqa: E402
from lora_studio.graph_runner import EagerReplay  # noqa: E402
from lora_studio.lora import resolve_targets, to_kohya  # noqa: E402

COLUMNS = ["method", "s / image", "UNet it/s", "x baseline", "peak alloc GiB", "peak reserved GiB", "first call s",
           "check"]
BASELINE = "baseline: diffusers StableDiffusionPipeline, no LoRA"
PROMPT, NEGATIVE = "mychar, 1girl, smile, green hair", "lowres, bad anatomy"
SD15_VAE = dict(block_out_channels=(128, 256, 512, 512), in_channels=3, out_channels=3, latent_channels=4,
                layers_per_block=2, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512)


def sd15_pipeline(folder: Path, device: torch.device, dtype: torch.dtype):
    """An SD1.5-shaped StableDiffusionPipeline with seeded random weights, built on the device."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from lora_studio.models import write_tiny_tokenizer

    vocab = write_tiny_tokenizer(folder / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer", model_max_length=77)
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(**SD15_UNET)
        vae = AutoencoderKL(**SD15_VAE)
        text_encoder = CLIPTextModel(CLIPTextConfig(
            hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12, vocab_size=vocab,
            max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id))
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                              steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def write_adapter(unet, path: Path, rank: int = 16, alpha: float = 8.0) -> Path:
    """A kohya LoRA file over the `default` targets with small random weights (what a trained adapter looks like)."""
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(1)
    state = {}
    for name in resolve_targets(unet, "default"):
        weight = unet.get_submodule(name).weight
        extra = tuple(weight.shape[2:])
        state[f"{name}.lora_A.weight"] = torch.randn((rank, weight.shape[1], *extra), generator=g) * 0.02
        state[f"{name}.lora_B.weight"] = torch.randn((weight.shape[0], rank, *extra), generator=g) * 0.02
    save_file(to_kohya(state, alpha), str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2, help="timed calls per row, after one warm-up call")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds before remaining rows are skipped")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("diffusers", "peft", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    started = time.time()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    folder = Path(tempfile.mkdtemp(prefix="ls-genbench-"))
    if args.tiny:
        from lora_studio.models import load_pipeline

        pipe = load_pipeline("tiny", dtype=torch.float16 if cuda else torch.float32).to(device)
        size = 64
    else:
        pipe = sd15_pipeline(folder, device, torch.float16 if cuda else torch.float32)
        size = 512
    adapter = write_adapter(pipe.unet, folder / "bench-lora.safetensors")
    base_config = dict(pipe.scheduler.config)
    cfg = GenerateConfig(base="bench", loras=[str(adapter)], prompt=PROMPT, negative_prompt=NEGATIVE, steps=args.steps,
                         guidance_scale=7.0, sampler="euler_a", seed=1, width=size, height=size)
    eager = GenerateConfig(**{**cfg.__dict__, "cuda_graphs": False})
    print(f"# generate on {environment()}, {size} px, {args.steps} steps, CFG 7, euler_a", flush=True)

    def diffusers_call():
        pipe.scheduler = sampler_scheduler("euler_a", base_config)
        return pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=args.steps, guidance_scale=7.0,
                    width=size, height=size, generator=torch.Generator("cpu").manual_seed(1)).images[0]

    def graph_context():
        # generate_images enters graphed_unet itself on CUDA; entering it here first only hands the benchmark the
        # graphs' check results (and on a CPU simulates the capture, which the default leaves off).
        return graphed_unet(pipe.unet, runner_factory=None if cuda else EagerReplay)

    rows: list[dict] = []
    images: dict[str, np.ndarray] = {}

    def run(method: str, call, setup=None, teardown=None, context=None) -> None:
        if time.time() - started > args.budget:
            print(f"budget: skipped {method}", flush=True)
            return
        if setup:
            setup()
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        with context() if context else contextlib.nullcontext() as graphs:
            t0 = time.perf_counter()
            first = call()
            _sync(cuda)
            first_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in range(args.calls):
                image = call()
            _sync(cuda)
            per_image = (time.perf_counter() - t0) / args.calls
        images[method] = np.asarray(image if not isinstance(image, list) else image[0][0], dtype=np.int16)
        check = "-"
        if graphs is not None:
            errs = ", ".join(f"{e:.1e}" for e in graphs.errors)
            check = f"{'ok' if graphs.active else 'FELL BACK'} (UNet rel err {errs or 'n/a'})"
        rows.append(dict(method=method, s_per_image=per_image, first_s=first_s, check=check,
                         peak_gib=torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
                         peak_reserved_gib=torch.cuda.max_memory_reserved() / 2**30 if cuda else None))
        print(f"{method}: {per_image:.3f} s/image, {check}", flush=True)
        write_json(args.json, {"environment": environment(), "size": size, "steps": args.steps, "rows": rows})
        del first
        if teardown:
            teardown()

    run(BASELINE, diffusers_call)
    run("diffusers StableDiffusionPipeline + LoRA", diffusers_call,
        setup=lambda: pipe.load_lora_weights(str(adapter), adapter_name="bench"),
        teardown=lambda: pipe.unload_lora_weights())
    run("lora-studio generate, eager UNet", lambda: generate_images(pipe, eager))
    run("lora-studio generate (graphed UNet)" + ("" if cuda else ", simulated"), lambda: generate_images(pipe, cfg),
        context=graph_context, teardown=lambda: (release_graphs(pipe.unet), unload_loras(pipe)))

    ref = next((r["s_per_image"] for r in rows if r["method"] == BASELINE), None)
    table = []
    for r in rows:
        r["unet_it_per_s"] = args.steps / r["s_per_image"]
        r["x_baseline"] = ref / r["s_per_image"] if ref else None
        ratio = fmt(r["x_baseline"], ".2f") + (" (fell back: not counted)" if "FELL BACK" in r["check"] else "")
        table.append([r["method"], f"{r['s_per_image']:.3f}", f"{r['unet_it_per_s']:.1f}", ratio,
                      fmt(r["peak_gib"], ".2f"), fmt(r["peak_reserved_gib"], ".2f"), f"{r['first_s']:.1f}",
                      r["check"]])
    print()
    print(markdown_table(COLUMNS, table))
    print()
    eager_key = "lora-studio generate, eager UNet"
    graphed = [k for k in images if "graphed" in k]
    if eager_key in images and graphed:
        diff = int(np.abs(images[eager_key] - images[graphed[0]]).max())
        print(f"same seed, graphed vs eager UNet: largest pixel difference {diff} of 255")
    if not cuda:
        print("(CPU run: proves the benchmark works; the target is >= 2x UNet it/s on an H100)")
    counted = [r for r in rows if "graphed" in r["method"] and r["check"].startswith("ok") and r["x_baseline"]]
    print("target generation >= 2x baseline: " + (f"{counted[0]['x_baseline']:.2f}x" if counted else "not measured"))
    write_json(args.json, {"environment": environment(), "size": size, "steps": args.steps, "rows": rows})
    return 0


def _sync(cuda: bool) -> None:
    if cuda:
        torch.cuda.synchronize()


if __name__ == "__main__":
    sys.exit(main())
