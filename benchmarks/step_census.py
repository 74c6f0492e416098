"""Step census: what one lora-studio training step costs in kernels, memory traffic and saved activations, counted
without a GPU (no weights, no data: every tensor lives on torch's `meta` device and only has a shape and dtype).

The step is the one the trainer runs on CUDA: `lora_studio.fast_step.TrainStep._static_step` (forward, backward,
gradient clipping, fused AdamW), on a UNet of the chosen shape with the trainer's LoRA. `--step plain` counts the
diffusers-example step instead (peft adapter, autocast with fp32 norms, plain backward), the reference the fast
step is checked against.

CUDA bf16 autocast cannot run on meta tensors, so `MetaAutocast` reproduces it: the ops CUDA autocast runs in
bf16 (matmuls, linear, convolutions, attention) get their fp32 inputs cast to bf16, the ops it runs in fp32
(norms, losses, exp/log/pow, softmax, sums) get bf16 inputs cast to fp32, exactly as `torch.autocast` inserts
those casts (they are recorded by autograd, so the backward casts are counted too).

Counted, per step:
- aten_ops: every aten operation that launches work (views, detach and metadata queries are not counted);
- nonmatmul_gib: bytes read and written by the operations that are not matrix products or convolutions (the
  memory traffic a fusing compiler could remove);
- saved_activation_gib: bytes autograd keeps from the forward for the backward (distinct storages, weights
  excluded), the activation memory of a step;
- weights_gib: the UNet's parameters and buffers.

Usage: python benchmarks/step_census.py [--shape sd15|sdxl|tiny] [--batch N] [--targets attn] [--rank 4]
       [--alpha 4] [--step fast|plain] [--ops 25]
The last line is `aten_ops=N saved_activation_gib=X weights_gib=Y`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SD15_UNET  # noqa: E402

from lora_studio.captured_step import static_buffers  # noqa: E402
from lora_studio.config import load_config  # noqa: E402
from lora_studio.fast_step import TrainStep  # noqa: E402
from lora_studio.graph_runner import EagerReplay  # noqa: E402
from lora_studio.loss import denoising_loss  # noqa: E402

# SDXL's UNet as stabilityai/stable-diffusion-xl-base-1.0 configures it (2.57 B parameters), 1024 px.
SDXL_UNET = dict(sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280), down_block_types=(
                     "DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                 transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
                 use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=256,
                 projection_class_embeddings_input_dim=2816)
# The built-in offline `tiny` base's UNet (lora_studio/models.py), 256 px.
TINY_UNET = dict(sample_size=32, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 64),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=8,
                 norm_num_groups=32)


@dataclass(frozen=True)
class Shape:
    unet: dict
    latent: int  # latent side (image side / 8)
    context: tuple[int, int]  # tokens, width
    pooled: int = 0  # SDXL's pooled text embedding width (0: no added conditioning)


SHAPES = {"sd15": Shape(SD15_UNET, 64, (77, 768)), "sdxl": Shape(SDXL_UNET, 128, (77, 2048), pooled=1280),
          "tiny": Shape(TINY_UNET, 32, (77, 32))}

# CUDA autocast's op lists (torch.amp docs, "CUDA Ops that can autocast to ..."), by op name.
LOWER_PRECISION = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "matmul",
                   "__matmul__", "__rmatmul__", "mm", "bmm", "baddbmm", "addmm", "addbmm", "addmv", "addr", "mv",
                   "prelu", "scaled_dot_product_attention", "_convolution", "convolution", "chain_matmul"}
FP32 = {"group_norm", "layer_norm", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "exp", "expm1", "log",
        "log2", "log10", "log1p", "pow", "__pow__", "__rpow__", "rsqrt", "reciprocal", "softplus", "softmax",
        "log_softmax", "sum", "prod", "cumsum", "cumprod", "norm", "normalize", "cosine_similarity", "cross_entropy",
        "nll_loss", "kl_div", "binary_cross_entropy_with_logits", "acos", "asin", "cosh", "sinh", "tan", "erfinv",
        "cdist", "pdist", "dist", "renorm", "logsumexp"}
MATMUL_OPS = ("mm", "addmm", "bmm", "baddbmm", "convolution", "convolution_backward", "_scaled_dot_product",
              "_efficient_attention", "_flash_attention", "linear")
IN_PLACE_WITHOUT_META = {"_fused_adamw_", "_fused_adam_"}
NOT_KERNELS = ("_unsafe_view", "detach", "lift_fresh", "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided",
               "_local_scalar_dense", "is_same_size", "sym_", "_to_copy.default(meta)")


def _cast(value, dtype: torch.dtype, only_from: tuple[torch.dtype, ...]):
    if isinstance(value, torch.Tensor) and value.dtype in only_from:
        return value.to(dtype)
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype, only_from) for v in value)
    return value


def _flash_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kwargs):
    """What SDPA picks on an H100 for bf16 without a mask (the flash kernel); the meta device would otherwise take
    the math path (bmm, softmax, bmm), whose saved attention matrix no GPU run keeps."""
    if attn_mask is not None or kwargs:
        return torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal,
                                                                scale=scale, **kwargs)
    return torch.ops.aten._scaled_dot_product_flash_attention(query, key, value, dropout_p, is_causal,
                                                              scale=scale)[0]


class MetaAutocast(TorchFunctionMode):
    """CUDA autocast to `dtype`, reproduced for meta tensors (torch.autocast needs a CUDA device)."""

    paused = 0  # inside torch.autocast(enabled=False) blocks (lean_layers.autocast_off)
    active: list[torch.dtype] = []  # the dtypes of the modes entered and not left

    def __enter__(self):
        MetaAutocast.active.append(self.dtype)
        return super().__enter__()

    def __exit__(self, *exc):
        MetaAutocast.active.pop()
        return super().__exit__(*exc)

    @classmethod
    def current_dtype(cls, device_type: str = "meta") -> torch.dtype | None:
        """torch.get_autocast_dtype while autocast is on (lean_layers.autocast_dtype)."""
        return cls.active[-1] if cls.active and not cls.paused else None

    def __init__(self, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        self.dtype = dtype

    @classmethod
    @contextlib.contextmanager
    def off(cls, device_type: str = "meta"):
        cls.paused += 1
        try:
            yield
        finally:
            cls.paused -= 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if self.paused:
            pass
        elif name in LOWER_PRECISION:
            args, kwargs = _cast(args, self.dtype, (torch.float32,)), _cast(kwargs, self.dtype, (torch.float32,))
            if name == "scaled_dot_product_attention":
                return _flash_attention(*args, **kwargs)
        elif name in FP32 and "dtype" not in kwargs:
            low = (torch.float16, torch.bfloat16)
            args, kwargs = _cast(args, torch.float32, low), _cast(kwargs, torch.float32, low)
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **kwargs)


@dataclass
class Census:
    ops: Counter = field(default_factory=Counter)
    nonmatmul_bytes: int = 0
    saved: dict = field(default_factory=dict)  # storage id -> bytes
    saved_by: Counter = field(default_factory=Counter)  # bytes by the op that ran just before the save
    weight_storages: set = field(default_factory=set)

    @property
    def aten_ops(self) -> int:
        return sum(self.ops.values())

    @property
    def saved_bytes(self) -> int:
        return sum(self.saved.values())


def _tensors(tree) -> list[torch.Tensor]:
    return [t for t in torch.utils._pytree.tree_leaves(tree) if isinstance(t, torch.Tensor)]


class _SkipFusedOptimizer(TorchDispatchMode):
    """The fused optimizer has no meta kernel; it updates in place and returns nothing, so skipping it is exact."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in IN_PLACE_WITHOUT_META:
            return None
        return func(*args, **(kwargs or {}))


class _OpCounter(TorchDispatchMode):
    def __init__(self, census: Census) -> None:
        super().__init__()
        self.census = census
        self.last = ""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        out = func(*args, **(kwargs or {}))
        self.last = name
        if func.is_view or name.startswith(NOT_KERNELS) or func.namespace == "prim":
            return out
        self.census.ops[name] += 1
        if not name.startswith(MATMUL_OPS):
            moved = _tensors((args, kwargs)) + _tensors(out)
            self.census.nonmatmul_bytes += sum(t.numel() * t.element_size() for t in moved)
        return out


@contextlib.contextmanager
def counting(census: Census):
    """Count every aten op and every tensor autograd saves (by storage, weights excluded) while inside."""

    counter = _OpCounter(census)

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        if storage._cdata not in census.weight_storages and storage._cdata not in census.saved:
            census.saved[storage._cdata] = storage.nbytes()
            census.saved_by[counter.last] += storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), counter:
        yield


def build_unet(shape: Shape, cfg):
    """The UNet of `shape` on the meta device, frozen bf16 base with the trainer's fp32 LoRA."""
    from diffusers import UNet2DConditionModel

    from lora_studio.lora import add_lora

    with torch.device("meta"):
        unet = UNet2DConditionModel(**shape.unet)
    unet.requires_grad_(False)
    unet.to(torch.bfloat16)
    params = add_lora(unet, cfg.lora)
    unet.train()
    return unet, params


class _Forward:
    """The UNet call of the loss, with SDXL's added conditioning (pooled text, size/crop ids) when it has one."""

    def __init__(self, unet, shape: Shape, batch: int) -> None:
        self.unet, self.added = unet, None
        if shape.pooled:
            self.added = {"text_embeds": torch.empty(batch, shape.pooled, device="meta", dtype=torch.bfloat16),
                          "time_ids": torch.empty(batch, 6, device="meta", dtype=torch.bfloat16)}

    def __call__(self, noisy, timesteps, embeddings):
        if self.added is None:
            return self.unet(noisy, timesteps, embeddings)
        return self.unet(noisy, timesteps, embeddings, added_cond_kwargs=self.added)


@contextlib.contextmanager
def _meta_as_cuda():
    """The meta device takes CUDA's code paths where torch chooses by device: fused AdamW (refused on meta only by
    its device check; _OpCounter counts its kernel), the foreach kernels of gradient clipping, and the lean norms'
    autocast-off blocks."""
    import torch.optim.adam as adam
    import torch.utils._foreach_utils as foreach_utils

    import lora_studio.lean_layers as lean_layers

    check, devices = adam._device_dtype_check_for_fused, foreach_utils._get_foreach_kernels_supported_devices
    autocast_off = lean_layers.autocast_off
    adam._device_dtype_check_for_fused = lambda p, cuda_unsupported=False: None
    foreach_utils._get_foreach_kernels_supported_devices = lambda: [*devices(), "meta"]
    autocast_dtype = lean_layers.autocast_dtype
    lean_layers.autocast_off = MetaAutocast.off  # the lean norms' torch.autocast(enabled=False)
    lean_layers.autocast_dtype = MetaAutocast.current_dtype
    try:
        with _SkipFusedOptimizer():
            yield
    finally:
        adam._device_dtype_check_for_fused = check
        foreach_utils._get_foreach_kernels_supported_devices = devices
        lean_layers.autocast_off, lean_layers.autocast_dtype = autocast_off, autocast_dtype


def run_census(shape_name: str, batch: int, *, targets: str = "attn", rank: int = 4, alpha: float = 4.0,
               step: str = "fast") -> tuple[Census, int]:
    """(census of one training step, bytes of the UNet's weights)."""
    from diffusers import DDPMScheduler

    shape = SHAPES[shape_name]
    cfg = load_config(None, [f"lora.targets={targets}", f"lora.rank={rank}", f"lora.alpha={alpha}",
                             "train.mixed_precision=bf16"])
    unet, params = build_unet(shape, cfg)
    census = Census(weight_storages={t.untyped_storage()._cdata for t in [*unet.parameters(), *unet.buffers()]})
    weights = sum(t.numel() * t.element_size() for t in [*unet.parameters(), *unet.buffers()])
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    optimizer = torch.optim.AdamW(params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)
    forward = _Forward(unet, shape, batch)
    latents = torch.empty(batch, 4, shape.latent, shape.latent, device="meta", dtype=torch.bfloat16)
    embeddings = torch.empty(batch, *shape.context, device="meta", dtype=torch.bfloat16)
    noise = torch.empty_like(latents)
    timesteps = torch.zeros(batch, dtype=torch.long, device="meta")
    if step == "plain":
        def plain_step() -> None:
            with MetaAutocast():
                loss = denoising_loss(forward, scheduler, latents, embeddings, noise, timesteps,
                                      prediction_type="epsilon", min_snr_gamma=None)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        with _meta_as_cuda():
            plain_step()  # AdamW creates its state
            with counting(census):
                plain_step()
        return census, weights
    train_step = TrainStep(unet, optimizer, params, scheduler, cfg, prediction_type="epsilon", device="meta",
                           weight_dtype=torch.bfloat16, runner=EagerReplay(), autocast=MetaAutocast,
                           forward=forward)
    buffers = static_buffers(latents, embeddings, noise, timesteps)
    train_step._static_grads()
    with _meta_as_cuda():
        train_step._static_step(buffers)  # the warm-up step: AdamW creates its state, as before any capture
        with counting(census):
            train_step._static_step(buffers)
    return census, weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="sd15")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--targets", default="attn", help="LoRA targets preset (attn: q/k/v/out as the anchor)")
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=4.0)
    parser.add_argument("--step", choices=("fast", "plain"), default="fast")
    parser.add_argument("--ops", type=int, default=25, help="how many of the most frequent ops to list")
    args = parser.parse_args(argv)
    census, weights = run_census(args.shape, args.batch, targets=args.targets, rank=args.rank, alpha=args.alpha,
                                 step=args.step)
    gib = 2**30
    print(f"# step census: {args.shape}, batch {args.batch}, LoRA {args.targets} rank {args.rank} alpha "
          f"{args.alpha:g}, {args.step} step, CUDA bf16 autocast reproduced on the meta device")
    for name, count in census.ops.most_common(args.ops):
        print(f"{count:6d}  {name}")
    saved = ", ".join(f"{name} {size / gib:.3f}" for name, size in census.saved_by.most_common(8))
    print(f"saved activations (GiB) by the op before the save: {saved}")
    casts = census.ops["_to_copy"] + census.ops["copy_"]
    print(f"casts and copies: {casts}; non-matmul bytes moved: {census.nonmatmul_bytes / gib:.2f} GiB")
    print(f"aten_ops={census.aten_ops} saved_activation_gib={census.saved_bytes / gib:.3f} "
          f"weights_gib={weights / gib:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
