"""The training loop: one explicit accelerate loop over cached latents, LoRA on the UNet, base frozen.

Run as `accelerate launch -m lora_studio.train CONFIG [key=value ...]` (what `lora-studio train` does).
Each step's noise, timesteps, caption shuffles and data order derive from (seed, step, rank), so a run
resumed from a checkpoint continues exactly as if it had never stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from . import checkpoints as ckpt
from . import epoch_adapters
from .adapter_file import ensure_finite, save_adapter
from .atomic import write_failure
from .cache import LatentCache, TextEmbeddingCache
from .conditioning import sdxl_time_ids
from .config import TrainConfig, load_config, save_config
from .console import console_language, print_error, setup_logging
from .data import build_caption, plan_epoch, scan_dataset, size_conditioning, tag_frequency
from .errors import TrainingStopped, UserError
from .fast_step import TrainStep
from .launch import CHECKED_ENV, preflight
from .loss import diffusion_loss
from .models import tiny_note
from .runlog import RunLog, clear_stop, stop_requested
from .samples import sample_due, sample_images
from .steps import StepPlan, plan_steps, step_generator, step_rng
from .text import Text, render
from .training_setup import (
    BaseModel,
    add_adapter,
    build_caches,
    load_base,
    make_accelerator,
    quiet_libraries,
    resume_point,
)

log = logging.getLogger("lora_studio.train")


@dataclass
class TrainResult:
    adapter: Path | None
    state: str  # "finished" or "stopped"
    step: int
    world_size: int
    unet: torch.nn.Module  # the trained UNet (base + adapter), for tests and callers in the same process


class _StopSignal:
    """SIGTERM/SIGINT ask for a clean stop at the next step boundary instead of killing mid-write."""

    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. called from a test thread)
                pass

    def _handle(self, signum, frame) -> None:
        self.requested = True


def _step_batches(plan: StepPlan, epoch: int, items, cfg: TrainConfig, rank: int) -> list[list[int]]:
    """This process's batches of one epoch: every rank takes its share, all ranks the same count."""
    batches = plan_epoch(items, cfg.train.batch_size, cfg.train.seed, epoch)
    return batches[rank::plan.world_size][: plan.batches_per_epoch]


def train(cfg: TrainConfig) -> TrainResult:
    """Train one LoRA as `cfg` says; the kohya-format adapter lands in the run folder."""
    stop_signal = _StopSignal()
    run_dir = cfg.run_dir.resolve()
    accelerator = make_accelerator(cfg, run_dir)
    main = accelerator.is_main_process
    if main:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(replace(cfg, output_dir=str(run_dir)), run_dir / "config.yaml")
            clear_stop(run_dir)
            ckpt.clean_partials(run_dir)
            earlier = None if cfg.train.resume else ckpt.set_aside_earlier_run(run_dir)
            earlier_adapters = [] if cfg.train.resume else epoch_adapters.set_aside(run_dir, cfg.name)
        except OSError as e:
            raise UserError("io.failure", failure=write_failure(e, "io.what_run_folder", run_dir)) from None
        if earlier:
            log.info("train.resume is not set, so this is a new run: the checkpoints of the run before it (%s) were "
                     "moved to %s. To continue that run instead, stop this one and pass train.resume=%s",
                     ", ".join(earlier[1]), earlier[0], earlier[0] / earlier[1][-1])
        if earlier_adapters:
            log.info("the per-epoch adapters of the run before (%s) were moved to %s",
                     ", ".join(earlier_adapters), run_dir / epoch_adapters.EARLIER_DIR)
    accelerator.wait_for_everyone()
    runlog = RunLog(run_dir) if main else None
    log.info("%s", Text("log.process_ready", index=accelerator.process_index, count=accelerator.num_processes,
                        device=accelerator.device))
    # Whatever stops the run, status.json says so with the same message the terminal shows (the studio reads it).
    try:
        return _train(cfg, accelerator, run_dir, runlog, stop_signal)
    except UserError as e:
        if runlog:
            runlog.fail(e.text())
        raise
    except torch.OutOfMemoryError:  # outside the step (caching, samples); the step's own handler saved a checkpoint
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if runlog:
            runlog.fail(Text("train.oom_outside_step"))
        raise TrainingStopped("train.oom_outside_step") from None
    except OSError as e:  # the disk cache or a log file: full disk, lost permissions
        failure = write_failure(e, "io.what_run_file", run_dir)
        if runlog:
            runlog.fail(Text("train.write_failed_kept", failure=failure))
        raise UserError("train.write_failed_kept", failure=failure) from None


@dataclass
class _Run:
    """What the loop works with, built once by the setup functions in training_setup.py."""
    cfg: TrainConfig
    accelerator: object
    run_dir: Path
    runlog: RunLog | None
    stop_signal: _StopSignal
    items: list
    plan: StepPlan
    base: BaseModel
    latents: LatentCache
    texts: TextEmbeddingCache
    unet: torch.nn.Module
    params: list
    optimizer: object
    lr_schedule: object
    weight_dtype: torch.dtype
    fast_step: TrainStep | None = None
    started: float = 0.0


@dataclass
class _Position:
    """Where the loop is: optimizer steps done, the epoch and batch within it, what a checkpoint records."""
    step: int
    epoch: int
    batch_index: int
    epochs_reached: int  # 1-based, as kohya's ss_epoch counts
    state: str = "finished"  # or "stopped"
    step_time: float = 0.0
    images_seen: int = 0


def _train(cfg: TrainConfig, accelerator, run_dir: Path, runlog: RunLog | None, stop_signal: _StopSignal) -> TrainResult:
    run = _set_up(cfg, accelerator, run_dir, runlog, stop_signal)
    step, epoch, skip_batches = resume_point(cfg, accelerator, run.unet, run_dir)
    run.fast_step = _graph_step(run)
    run.started = time.time()
    pos = _Position(step, epoch, skip_batches, epoch + (1 if skip_batches else 0), step_time=time.time())
    progress = _progress(accelerator.is_main_process, run.plan.total_steps, pos.step)
    try:
        while pos.step < run.plan.total_steps:
            if _run_epoch(run, pos, progress):
                break
            pos.epoch, pos.batch_index = pos.epoch + 1, 0
    except torch.OutOfMemoryError:
        run.optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if accelerator.num_processes == 1:  # with several processes the others are stuck in a collective: no safe save
            _save_checkpoint(run, pos.step, pos.epoch, pos.batch_index)
        raise TrainingStopped("train.oom", step=pos.step + 1) from None
    finally:
        progress.close()
    return _finish(run, pos)


def _set_up(cfg: TrainConfig, accelerator, run_dir: Path, runlog: RunLog | None, stop_signal: _StopSignal) -> _Run:
    """Checks, dataset and step plan, base model, caches, and the adapter with its optimizer and LR schedule."""
    main = accelerator.is_main_process
    if os.environ.get(CHECKED_ENV) != "1":  # `accelerate launch -m lora_studio.train` directly: check here
        preflight(cfg)
    scan = scan_dataset(cfg.dataset)
    if main:
        for warning in scan.warnings:
            log.warning("dataset: %s", warning)
    items = scan.items
    plan = plan_steps(cfg, items, accelerator.num_processes)
    if runlog:
        runlog.total_steps = plan.total_steps
        runlog.update(state="starting", message=Text("train.loading_base"), world_size=accelerator.num_processes)
    if main:
        log.info("%s", plan.describe())
        if tiny_note(cfg.base):
            log.info("%s", Text("console.note", message=tiny_note(cfg.base)))
    device = accelerator.device
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    base = load_base(cfg, main)
    latents, texts = build_caches(cfg, base, items, run_dir, device, weight_dtype, main)
    unet, params, optimizer, lr_schedule = add_adapter(cfg, accelerator, base.pipe.unet, weight_dtype, plan.total_steps)
    return _Run(cfg, accelerator, run_dir, runlog, stop_signal, items, plan, base, latents, texts, unet, params,
                optimizer, lr_schedule, weight_dtype)


def _graph_step(run: _Run) -> TrainStep | None:
    """On CUDA the whole step replays as one CUDA graph per batch shape (lora_studio/fast_step.py); on a CPU or an
    ineligible config fast_step(...) returns None and the eager step runs."""
    accelerator = run.accelerator
    if not run.base.family.xl:
        return TrainStep(run.unet, run.optimizer, run.params, run.base.noise_scheduler, run.cfg,
                         prediction_type=run.base.prediction_type, device=accelerator.device,
                         weight_dtype=run.weight_dtype, world_size=accelerator.num_processes)
    if accelerator.is_main_process and accelerator.device.type == "cuda":
        log.info("SDXL runs the eager training step (the CUDA-graph step takes no size conditioning yet)")
    return None


def _run_epoch(run: _Run, pos: _Position, progress) -> bool:
    """The epoch's remaining batches; True when the run is done or stopped."""
    batches = _step_batches(run.plan, pos.epoch, run.items, run.cfg, run.accelerator.process_index)
    for batch_index in range(pos.batch_index, len(batches)):
        pos.batch_index = batch_index
        loss, flags = _step(run, pos, batches[batch_index])
        pos.images_seen += len(batches[batch_index]) * run.accelerator.num_processes
        if not run.accelerator.sync_gradients:
            continue
        run.lr_schedule.step()
        pos.step += 1
        pos.epochs_reached = pos.epoch + 1
        _log_step(run, pos, loss)
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.4f}")
        if _after_step(run, pos, flags, len(batches)):
            return True
    return False


def _step(run: _Run, pos: _Position, batch: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """One micro-batch: its inputs from (seed, step, rank), forward and backward (or the CUDA-graph step), and the
    flags every rank agrees on (a bad loss, a stop request). Raises on a non-finite loss anywhere."""
    cfg, accelerator, items = run.cfg, run.accelerator, run.items
    device, weight_dtype, rank = accelerator.device, run.weight_dtype, accelerator.process_index
    micro = pos.step * cfg.train.gradient_accumulation_steps + pos.batch_index % cfg.train.gradient_accumulation_steps
    rng = step_rng(cfg.train.seed, micro, rank)
    gen = step_generator(cfg.train.seed, micro, rank, device)
    flips = [cfg.dataset.flip and rng.random() < 0.5 for _ in batch]
    lat = torch.stack([run.latents.get(i, flipped) for i, flipped in zip(batch, flips, strict=True)])
    lat = lat.to(device, weight_dtype)
    captions = [build_caption(items[i].tags, cfg.dataset, rng) for i in batch]
    emb, pooled = run.texts.get(captions, device, weight_dtype)
    added_cond = None if pooled is None else {"text_embeds": pooled, "time_ids": sdxl_time_ids(
        [size_conditioning(items[i], f) for i, f in zip(batch, flips, strict=True)], device, weight_dtype)}
    with accelerator.accumulate(run.unet), accelerator.autocast():
        # fast_step did the whole step (forward, backward, clip, AdamW) and gave its loss, or None:
        # then the eager step below runs as it always has (CPU, ineligible config, fallback).
        fast_loss = run.fast_step(lat, emb, gen) if run.fast_step is not None else None
        loss = diffusion_loss(run.unet, run.base.noise_scheduler, lat, emb, cfg, gen, run.base.prediction_type,
                              added_cond) if fast_loss is None else fast_loss
        # One small collective tells every rank whether anyone saw a bad loss or a stop request.
        flags = torch.tensor([float(torch.isfinite(loss).item()),
                              float(run.stop_signal.requested or stop_requested(run.run_dir))], device=device)
        flags = accelerator.gather(flags.reshape(1, 2)).reshape(-1, 2)
        if flags[:, 0].min() < 1:
            raise TrainingStopped("train.nan_loss", step=pos.step + 1)
        if fast_loss is None:
            accelerator.backward(loss)
            if accelerator.sync_gradients and cfg.train.max_grad_norm > 0:
                accelerator.clip_grad_norm_(run.params, cfg.train.max_grad_norm)
            run.optimizer.step()
            run.optimizer.zero_grad(set_to_none=True)
    return loss, flags


def _log_step(run: _Run, pos: _Position, loss: torch.Tensor) -> None:
    """Every train.log_every_n_steps: a metrics row, status.json, and the tracker (tensorboard)."""
    if not run.accelerator.is_main_process or pos.step % run.cfg.train.log_every_n_steps:
        return
    now = time.time()
    row = {"step": pos.step, "epoch": pos.epoch + 1, "loss": round(loss.item(), 6),
           "lr": run.lr_schedule.get_last_lr()[0],
           "images_per_s": round(pos.images_seen / max(now - pos.step_time, 1e-9), 3),
           "elapsed": round(now - run.started, 3)}
    run.runlog.metrics(row)
    run.runlog.update(force=False, state="running", step=pos.step, epoch=pos.epoch + 1, message="")
    run.accelerator.log({"loss": row["loss"], "lr": row["lr"]}, step=pos.step)
    pos.step_time, pos.images_seen = now, 0


def _after_step(run: _Run, pos: _Position, flags: torch.Tensor, epoch_batches: int) -> bool:
    """After an optimizer step: the epoch's adapter, a stop request, checkpoints, samples. True ends the run."""
    cfg, main = run.cfg, run.accelerator.is_main_process
    done = pos.step >= run.plan.total_steps
    last_in_epoch = pos.batch_index + 1 == epoch_batches
    next_batch = (pos.epoch + 1, 0) if last_in_epoch else (pos.epoch, pos.batch_index + 1)
    finished_epoch = pos.epoch + 1 if last_in_epoch else None
    # Before a stop is honoured: the epoch this step completed keeps its adapter after a resume too.
    extra = epoch_adapters.due(cfg, pos.step, finished_epoch, done)
    if main and extra:
        save_adapter(run.accelerator.unwrap_model(run.unet), cfg, run.base.family, run.run_dir, pos.step,
                     pos.epoch + 1, tag_frequency(run.items), time.time() - run.started, file_name=extra,
                     num_epochs=run.plan.epochs)
        epoch_adapters.prune(run.run_dir, cfg.name, cfg.train.keep_n_adapters)
    if flags[:, 1].max() > 0 and not done:
        _save_checkpoint(run, pos.step, *next_batch)
        pos.state = "stopped"
        return True
    every = cfg.train.checkpoint_every_n_steps
    if every and pos.step % every == 0 and not done:
        _save_checkpoint(run, pos.step, *next_batch)
    if sample_due(cfg, pos.step, finished_epoch) and not done:
        _sample(run, pos.step)
    return done


def _save_checkpoint(run: _Run, step: int, epoch: int, batch_in_epoch: int) -> None:
    ensure_finite(run.params, step)  # a NaN update never becomes the "last good" checkpoint
    ckpt.save_checkpoint(run.accelerator, run.run_dir, step,
                         {"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
                          "lora": asdict(run.cfg.lora)},
                         run.cfg.train.checkpoints_total_limit)


def _finish(run: _Run, pos: _Position) -> TrainResult:
    """The final adapter, the last samples, and status.json's last word."""
    cfg, accelerator, run_dir = run.cfg, run.accelerator, run.run_dir
    adapter = None
    if accelerator.is_main_process:  # NaN weights or a failed write raise a UserError; the previous adapter file is untouched
        adapter = save_adapter(accelerator.unwrap_model(run.unet), cfg, run.base.family, run_dir, pos.step,
                               pos.epochs_reached, tag_frequency(run.items), time.time() - run.started,
                               num_epochs=run.plan.epochs)
    if pos.state == "finished":
        _sample(run, pos.step)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    if run.runlog:
        state = pos.state
        message = Text("train.saved", adapter=adapter) if state == "finished" else Text("train.stopped")
        run.runlog.update(state=state, step=pos.step, message=message, adapter=str(adapter))
        samples = sorted((run_dir / "samples").glob("*.png"))
        log.info("%s", Text(f"log.{state}", message=message,
                            samples=Text("log.samples_in", folder=run_dir / "samples") if samples else ""))
        if state == "finished":
            log.info("%s", Text("log.try_it", base=cfg.base, adapter=adapter, prompt=cfg.dataset.trigger_word or "1girl"))
    return TrainResult(adapter, pos.state, pos.step, accelerator.num_processes, accelerator.unwrap_model(run.unet))


def _progress(enabled: bool, total: int, initial: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc=render("log.progress", console_language()),
                unit="step", dynamic_ncols=True)


def _sample(run: _Run, step: int) -> None:
    accelerator = run.accelerator
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        sample_images(run.base.pipe, accelerator.unwrap_model(run.unet), run.cfg, run.run_dir, step, run.items,
                      accelerator.device, run.weight_dtype)
    accelerator.wait_for_everyone()


def main(argv: list[str] | None = None) -> int:
    try:
        lang = console_language(strict=True)  # lora-studio --lang sets it for this process too
    except UserError as e:
        print_error(e, "en")
        return 2
    setup_logging(lang)
    quiet_libraries()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: accelerate launch -m lora_studio.train CONFIG [key=value ...]")
        return 0 if argv else 2
    try:
        cfg = load_config(argv[0], argv[1:])
        train(cfg)
    except UserError as e:
        print_error(e, lang)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

