"""The UNet's layers as the captured training step runs them: fewer kernels, fewer saved activations, same math.

Why: a replayed CUDA graph of an SD1.5 step at batch 1 is bound by its ~4,000 kernels, not by FLOPs, and keeps
~1 GiB of activations for the backward (benchmarks/step_census.py counts both). Inside `lean_layers(...)`:
- LoRA linears: the adapter weights are cast to the compute dtype with one foreach copy per step (not one cast per
  tensor in forward and again in backward), and `base(x) + scale * B(A(x))` runs as one custom autograd function:
  3 kernels forward (base, A, B fused with the add as an addmm), 5 backward; the gradients come back in one foreach
  copy (times the scale when it is not 1);
- norms run in the compute dtype with fp32 statistics (the CUDA kernels accumulate in fp32): no upcast, no
  downcast, half the saved bytes;
- frozen convolutions save only their weight: the input gradient does not need the input;
- GEGLU saves its projection only and recomputes gelu in the backward.
Outside the context the UNet is untouched (the eager and CPU paths stay bit-identical). The captured step's first
use is checked against the plain autocast step (fast_step.TrainStep), so any drift here falls back to eager.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F


def autocast_off(device_type: str):
    """Autocast disabled for the block (norms in the compute dtype); nothing to disable where autocast doesn't run."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


# ---------------------------------------------------------------- LoRA linear


class _LoraLinear(torch.autograd.Function):
    """y = x W^T + b + scale (x A^T) B^T; saves x and the rank-r product only. The scale is 1 where the caller
    folded it into B already (then it costs no kernel)."""

    @staticmethod
    def forward(ctx, x, weight, bias, lora_a, lora_b, scale):
        dtype = lora_a.dtype  # the compute dtype: autocast's, or the parameters' own without autocast
        flat = x.reshape(-1, x.shape[-1]).to(dtype)
        weight, bias = weight.to(dtype), (bias.to(dtype) if bias is not None else None)
        down = flat.mm(lora_a.t())
        out = F.linear(flat, weight, bias)
        out.addmm_(down, lora_b.t(), alpha=scale)
        ctx.save_for_backward(flat, down, weight, lora_a, lora_b)
        ctx.x_shape, ctx.scale = x.shape, scale
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx, grad):
        flat, down, weight, lora_a, lora_b = ctx.saved_tensors
        grad = grad.reshape(-1, grad.shape[-1])
        grad_down = grad.mm(lora_b)
        grad_b = grad.t().mm(down)
        if ctx.scale != 1.0:
            grad_down.mul_(ctx.scale)
            grad_b.mul_(ctx.scale)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad.mm(weight).addmm_(grad_down, lora_a).view(ctx.x_shape)
        return grad_x, None, None, grad_down.t().mm(flat), grad_b, None


def _is_plain_lora_linear(module: torch.nn.Module) -> bool:
    base = getattr(module, "base_layer", None)
    return (isinstance(base, torch.nn.Linear) and hasattr(module, "lora_A") and not module.merged
            and not module.disable_adapters and list(module.active_adapters) == ["default"]
            and not getattr(module, "lora_variant", {}) and isinstance(module.lora_dropout["default"],
                                                                       torch.nn.Identity))


class LoraWeights:
    """The adapter weights of the plain LoRA linears in the compute dtype, refreshed once per step."""

    def __init__(self, unet: torch.nn.Module, dtype: torch.dtype) -> None:
        self.layers = [m for m in unet.modules() if _is_plain_lora_linear(m)]
        self.params = [w for m in self.layers for w in (m.lora_A["default"].weight, m.lora_B["default"].weight)]
        self.scales = [float(m.scaling["default"]) for m in self.layers]
        self.same_dtype = all(p.dtype == dtype for p in self.params)
        # Leaves of the step's graph: the parameters themselves when they already have the compute dtype.
        self.leaves = self.params if self.same_dtype else [
            torch.empty_like(p, dtype=dtype).requires_grad_(True) for p in self.params]

    def refresh(self) -> None:
        """Copy the parameters in (one foreach op, cast included) and fold each layer's scale into its B."""
        if self.same_dtype:
            return
        with torch.no_grad():
            torch._foreach_copy_(self.leaves, self.params)
            if any(s != 1.0 for s in self.scales):
                torch._foreach_mul_(self.leaves[1::2], self.scales)
        for leaf in self.leaves:
            leaf.grad = None

    def gradients_to_params(self) -> None:
        """After backward: the leaves' gradients into the parameters' (one foreach op, cast included)."""
        if self.same_dtype:
            return
        grads = [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in self.leaves]
        targets = [p.grad for p in self.params]
        if any(t is None for t in targets):
            raise RuntimeError("lean LoRA step: parameter gradients must be allocated before the step")
        torch._foreach_copy_(targets, grads)
        if any(s != 1.0 for s in self.scales):  # B's leaf held scale * B: d/dB = scale * d/d(scale * B)
            torch._foreach_mul_(targets[1::2], self.scales)

    def forward_for(self, layer: torch.nn.Module, index: int):
        lora_a, lora_b = self.leaves[2 * index], self.leaves[2 * index + 1]
        base = layer.base_layer
        scale = self.scales[index] if self.same_dtype else 1.0  # else refresh() folded it into the copy of B

        def forward(x, *args, **kwargs):
            return _LoraLinear.apply(x, base.weight, base.bias, lora_a, lora_b, scale)

        return forward


# ---------------------------------------------------------------- norms, frozen convolutions, GEGLU


def _group_norm_forward(module: torch.nn.GroupNorm):
    def forward(x):
        with autocast_off(x.device.type):
            weight = module.weight.to(x.dtype) if module.weight is not None else None
            bias = module.bias.to(x.dtype) if module.bias is not None else None
            return F.group_norm(x, module.num_groups, weight, bias, module.eps)
    return forward


def _layer_norm_forward(module: torch.nn.LayerNorm):
    def forward(x):
        with autocast_off(x.device.type):
            weight = module.weight.to(x.dtype) if module.weight is not None else None
            bias = module.bias.to(x.dtype) if module.bias is not None else None
            return F.layer_norm(x, module.normalized_shape, weight, bias, module.eps)
    return forward


class _FrozenConv2d(torch.autograd.Function):
    """conv2d with a frozen weight: the input gradient needs the weight and the input's shape, not the input."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.save_for_backward(weight)
        ctx.conv = (x.shape, x.dtype, stride, padding, dilation, groups)
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        shape, dtype, stride, padding, dilation, groups = ctx.conv
        stand_in = grad.new_empty(1, dtype=weight.dtype).expand(shape)  # shape only, no memory
        grad_x = torch.ops.aten.convolution_backward(grad.to(weight.dtype), stand_in, weight, None, stride, padding,
                                                     dilation, False, [0, 0], groups, [True, False, False])[0]
        return grad_x.to(dtype), None, None, None, None, None, None


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast runs convolutions in on this device; None where it is off."""
    if torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return None


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    return autocast_dtype(x.device.type) or x.dtype


def _frozen_conv_forward(module: torch.nn.Conv2d):
    if module.padding_mode != "zeros" or isinstance(module.padding, str):
        return None

    def forward(x):
        dtype = _compute_dtype(x)
        x, weight = x.to(dtype), module.weight.to(dtype)
        bias = module.bias.to(dtype) if module.bias is not None else None
        with autocast_off(x.device.type):
            return _FrozenConv2d.apply(x, weight, bias, module.stride, module.padding, module.dilation, module.groups)
    return forward


class _Geglu(torch.autograd.Function):
    """GEGLU after its projection, saving the projection only (gelu is recomputed in the backward)."""

    @staticmethod
    def forward(ctx, projected):
        ctx.save_for_backward(projected)
        hidden, gate = projected.chunk(2, dim=-1)
        return hidden * F.gelu(gate)

    @staticmethod
    def backward(ctx, grad):
        (projected,) = ctx.saved_tensors
        hidden, gate = projected.chunk(2, dim=-1)
        grad_gate = torch.ops.aten.gelu_backward(grad * hidden, gate)
        return torch.cat([grad * F.gelu(gate), grad_gate], dim=-1)


def _geglu_forward(module):
    def forward(hidden_states, *args, **kwargs):
        return _Geglu.apply(module.proj(hidden_states))
    return forward


# ---------------------------------------------------------------- the context


def lean_forwards(unet: torch.nn.Module, lora: LoraWeights) -> dict:
    """module -> the forward it runs in the captured step."""
    from diffusers.models.activations import GEGLU

    forwards = {}
    for index, layer in enumerate(lora.layers):
        forwards[layer] = lora.forward_for(layer, index)
    for module in unet.modules():
        if isinstance(module, torch.nn.GroupNorm):
            forwards[module] = _group_norm_forward(module)
        elif isinstance(module, torch.nn.LayerNorm):
            forwards[module] = _layer_norm_forward(module)
        elif isinstance(module, torch.nn.Conv2d) and not module.weight.requires_grad:
            forwards[module] = _frozen_conv_forward(module)
        elif isinstance(module, GEGLU) and not module.proj.weight.requires_grad:
            forwards[module] = _geglu_forward(module)
    return {module: fn for module, fn in forwards.items() if fn is not None}


@contextlib.contextmanager
def installed(forwards: dict):
    """The modules run `forwards` inside (the same function objects every step: torch.compile's guards hold);
    their own forwards are back afterwards, whatever happened."""
    for module, forward in forwards.items():
        module.forward = forward
    try:
        yield
    finally:
        for module in forwards:
            del module.forward
