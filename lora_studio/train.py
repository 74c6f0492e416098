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
from .atomic import write_failure
from .cache import LatentCache, TextEmbeddingCache
from .conditioning import PromptEncoder, sdxl_time_ids
from .config import TrainConfig, load_config, save_config
from .data import (
    build_caption,
    caption_is_deterministic,
    plan_epoch,
    scan_dataset,
    size_conditioning,
    tag_frequency,
)
from .errors import TrainingStopped, UserError
from .fast_step import TrainStep
from .launch import CHECKED_ENV
from .loss import diffusion_loss
from .models import load_pipeline, pipeline_family, set_noise_schedule, tiny_note
from .runlog import RunLog, clear_stop, stop_requested, truncate_metrics
from .steps import StepPlan, plan_steps, step_generator, step_rng
from .text import Text
from .training_setup import (
    build_optimizer,
    build_scheduler,
    ensure_finite,
    make_accelerator,
    place,
    preflight,
    quiet_libraries,
    sample_images,
    save_adapter,
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
    log.info("process %d of %d ready on %s", accelerator.process_index, accelerator.num_processes, accelerator.device)
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


def _train(cfg: TrainConfig, accelerator, run_dir: Path, runlog: RunLog | None, stop_signal: _StopSignal) -> TrainResult:
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
        log.info(plan.describe())
        if tiny_note(cfg.base):
            log.info("note: %s", tiny_note(cfg.base))

    device = accelerator.device
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    pipe = load_pipeline(cfg.base, allow_pickle=cfg.allow_pickle)
    family = pipeline_family(pipe).with_prediction(cfg.train.prediction_type, cfg.train.zero_terminal_snr)
    set_noise_schedule(pipe, family)  # what a setting asks over the base's own (samples denoise as we train)
    prompts = PromptEncoder.for_pipe(pipe, family)
    unet, vae = pipe.unet, pipe.vae
    for module in (unet, vae, *prompts.text_encoders):
        module.requires_grad_(False)
    if main:
        log.info("base family: %s (%s%s)", family.label, family.prediction_type,
                 ", zero terminal SNR" if family.zero_terminal_snr else "")
        if cfg.dataset.resolution < family.resolution and not tiny_note(cfg.base):
            presets = Text("train.presets_sdxl" if family.xl else "train.presets_character")
            log.warning("%s", Text("train.resolution_below_native", resolution=cfg.dataset.resolution,
                                   family=family.label, native=family.resolution, presets=presets))
    noise_scheduler = _training_scheduler(pipe)
    prediction_type = cfg.train.prediction_type or noise_scheduler.config.prediction_type
    if prediction_type != pipe.scheduler.config.get("prediction_type"):  # samples must denoise the way we train
        pipe.scheduler.register_to_config(prediction_type=prediction_type)

    # Cache latents and (when captions are fixed) text embeddings, then move the encoders off the GPU.
    disk = run_dir / "cache" if cfg.dataset.cache == "disk" else None
    place(vae, device)  # float32 as loaded: SDXL's VAE overflows to NaN in fp16
    for text_encoder in prompts.text_encoders:
        place(text_encoder, device, weight_dtype)
    latents = LatentCache(items, base=cfg.base, flip=cfg.dataset.flip, disk_dir=disk)
    encoded = latents.build(vae, device, weight_dtype)
    texts = TextEmbeddingCache(prompts, base=cfg.base, disk_dir=disk)
    fixed_captions = caption_is_deterministic(cfg.dataset)
    if fixed_captions:
        # Captions are fixed apart from dropout, which only adds the empty caption.
        no_dropout = replace(cfg.dataset, caption_dropout=0.0)
        texts.precompute([build_caption(i.tags, no_dropout, step_rng(0, 0, 0)) for i in items] + [""], weight_dtype)
        for text_encoder in prompts.text_encoders:
            place(text_encoder, "cpu")
    place(vae, "cpu")
    if main:
        log.info("cached %d latents (%d reused from disk); text embeddings %s", len(items), len(items) - encoded,
                 "cached" if fixed_captions else "encoded each step (tags are shuffled)")

    from .lora import add_lora

    place(unet, device, weight_dtype)
    torch.manual_seed(cfg.train.seed)  # the adapter's initial weights: same seed, same run
    params = add_lora(unet, cfg.lora)
    if cfg.train.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    optimizer = build_optimizer(cfg, params, device)
    lr_scheduler = build_scheduler(cfg, optimizer, plan.total_steps)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    accelerator.register_for_checkpointing(lr_scheduler)
    ckpt.save_only_adapter_weights(accelerator)

    global_step, start_epoch, skip_batches = 0, 0, 0
    resume_from = ckpt.resolve_resume(run_dir, cfg.train.resume)
    if resume_from is not None:
        ckpt.check_same_lora(resume_from, asdict(cfg.lora))
        state = ckpt.load_checkpoint(accelerator, unet, resume_from)
        global_step, start_epoch, skip_batches = state["step"], state["epoch"], state["batch_in_epoch"]
        if main:
            log.info("resumed from %s at step %d", resume_from, global_step)
    elif cfg.train.resume and main:
        log.info("no checkpoint to resume from yet; starting at step 0")
    if main:  # rows past the starting step belong to a run that did not survive: the curve shows each step once
        truncate_metrics(run_dir, global_step)

    def save_checkpoint(epoch: int, batch_in_epoch: int) -> None:
        ensure_finite(params, global_step)  # a NaN update never becomes the "last good" checkpoint
        ckpt.save_checkpoint(accelerator, run_dir, global_step,
                             {"step": global_step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
                              "lora": asdict(cfg.lora)},
                             cfg.train.checkpoints_total_limit)

    rank, world = accelerator.process_index, accelerator.num_processes
    # On CUDA the whole step replays as one CUDA graph per batch shape (lora_studio/fast_step.py); on a CPU or an
    # ineligible config fast_step(...) returns None and the eager step runs.
    fast_step = None
    if not family.xl:
        fast_step = TrainStep(unet, optimizer, params, noise_scheduler, cfg, prediction_type=prediction_type,
                              device=device, weight_dtype=weight_dtype, world_size=world)
    elif main and device.type == "cuda":
        log.info("SDXL runs the eager training step (the CUDA-graph step takes no size conditioning yet)")
    started = time.time()
    progress = _progress(main, plan.total_steps, global_step)
    state = "finished"
    step_time, images_seen = time.time(), 0
    epoch, batch_index = start_epoch, skip_batches
    epochs_reached = start_epoch + (1 if skip_batches else 0)
    try:
        while global_step < plan.total_steps:
            batches = _step_batches(plan, epoch, items, cfg, rank)
            for batch_index in range(skip_batches, len(batches)):
                batch = batches[batch_index]
                micro = global_step * cfg.train.gradient_accumulation_steps + batch_index % cfg.train.gradient_accumulation_steps
                rng = step_rng(cfg.train.seed, micro, rank)
                gen = step_generator(cfg.train.seed, micro, rank, device)
                flips = [cfg.dataset.flip and rng.random() < 0.5 for _ in batch]
                lat = torch.stack([latents.get(i, flipped) for i, flipped in zip(batch, flips, strict=True)])
                lat = lat.to(device, weight_dtype)
                captions = [build_caption(items[i].tags, cfg.dataset, rng) for i in batch]
                emb, pooled = texts.get(captions, device, weight_dtype)
                added_cond = None if pooled is None else {"text_embeds": pooled, "time_ids": sdxl_time_ids(
                    [size_conditioning(items[i], f) for i, f in zip(batch, flips, strict=True)], device, weight_dtype)}
                with accelerator.accumulate(unet), accelerator.autocast():
                    # fast_step did the whole step (forward, backward, clip, AdamW) and gave its loss, or None:
                    # then the eager step below runs as it always has (CPU, ineligible config, fallback).
                    fast_loss = fast_step(lat, emb, gen) if fast_step is not None else None
                    loss = diffusion_loss(unet, noise_scheduler, lat, emb, cfg, gen, prediction_type, added_cond) \
                        if fast_loss is None else fast_loss
                    # One small collective tells every rank whether anyone saw a bad loss or a stop request.
                    flags = torch.tensor([float(torch.isfinite(loss).item()),
                                          float(stop_signal.requested or stop_requested(run_dir))], device=device)
                    flags = accelerator.gather(flags.reshape(1, 2)).reshape(-1, 2)
                    if flags[:, 0].min() < 1:
                        raise TrainingStopped("train.nan_loss", step=global_step + 1)
                    if fast_loss is None:
                        accelerator.backward(loss)
                        if accelerator.sync_gradients and cfg.train.max_grad_norm > 0:
                            accelerator.clip_grad_norm_(params, cfg.train.max_grad_norm)
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                images_seen += len(batch) * world
                if not accelerator.sync_gradients:
                    continue
                lr_scheduler.step()
                global_step += 1
                epochs_reached = epoch + 1  # 1-based, as kohya's ss_epoch counts
                if main and global_step % cfg.train.log_every_n_steps == 0:
                    now = time.time()
                    row = {"step": global_step, "epoch": epoch + 1, "loss": round(loss.item(), 6),
                           "lr": lr_scheduler.get_last_lr()[0], "images_per_s": round(images_seen / max(now - step_time, 1e-9), 3),
                           "elapsed": round(now - started, 3)}
                    runlog.metrics(row)
                    runlog.update(force=False, state="running", step=global_step, epoch=epoch + 1, message="")
                    accelerator.log({"loss": row["loss"], "lr": row["lr"]}, step=global_step)
                    step_time, images_seen = now, 0
                progress.update(1)
                progress.set_postfix(loss=f"{loss.item():.4f}")
                done = global_step >= plan.total_steps
                next_batch = (epoch, batch_index + 1) if batch_index + 1 < len(batches) else (epoch + 1, 0)
                finished_epoch = epoch + 1 if batch_index + 1 == len(batches) else None
                # Before a stop is honoured: the epoch this step completed keeps its adapter after a resume too.
                extra = epoch_adapters.due(cfg, global_step, finished_epoch, done)
                if main and extra:
                    save_adapter(accelerator.unwrap_model(unet), cfg, family, run_dir, global_step, epoch + 1,
                                 tag_frequency(items), time.time() - started, file_name=extra, num_epochs=plan.epochs)
                    epoch_adapters.prune(run_dir, cfg.name, cfg.train.keep_n_adapters)
                if flags[:, 1].max() > 0 and not done:
                    save_checkpoint(*next_batch)
                    state = "stopped"
                    break
                every = cfg.train.checkpoint_every_n_steps
                if every and global_step % every == 0 and not done:
                    save_checkpoint(*next_batch)
                if _sample_due(cfg, global_step, finished_epoch) and not done:
                    _sample(accelerator, pipe, unet, cfg, run_dir, global_step, items, device, weight_dtype)
                if done:
                    break
            if state == "stopped":
                break
            epoch, skip_batches = epoch + 1, 0
    except torch.OutOfMemoryError:
        optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if world == 1:  # with several processes the others are stuck in a collective: no safe save
            save_checkpoint(epoch, batch_index)
        raise TrainingStopped("train.oom", step=global_step + 1) from None
    finally:
        progress.close()

    adapter = None
    if main:  # NaN weights or a failed write raise a UserError; the previous adapter file is untouched
        adapter = save_adapter(accelerator.unwrap_model(unet), cfg, family, run_dir, global_step, epochs_reached,
                               tag_frequency(items), time.time() - started, num_epochs=plan.epochs)
    if state == "finished":
        _sample(accelerator, pipe, unet, cfg, run_dir, global_step, items, device, weight_dtype)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    if runlog:
        message = Text("train.saved", adapter=adapter) if state == "finished" else Text("train.stopped")
        runlog.update(state=state, step=global_step, message=message, adapter=str(adapter))
        samples = sorted((run_dir / "samples").glob("*.png"))
        log.info("%s: %s%s", state, message, f" (samples in {run_dir / 'samples'})" if samples else "")
        if state == "finished":
            log.info("try it: lora-studio generate --base %s --lora %s --prompt \"%s\"", cfg.base, adapter,
                     cfg.dataset.trigger_word or "1girl")
    return TrainResult(adapter, state, global_step, world, accelerator.unwrap_model(unet))


def _sample_due(cfg: TrainConfig, step: int, finished_epoch: int | None) -> bool:
    s = cfg.sample
    by_step = bool(s.every_n_steps) and step % s.every_n_steps == 0
    return by_step or bool(finished_epoch and s.every_n_epochs and finished_epoch % s.every_n_epochs == 0)


def _training_scheduler(pipe):
    from diffusers import DDPMScheduler

    return DDPMScheduler.from_config(pipe.scheduler.config)


def _progress(enabled: bool, total: int, initial: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc="training", unit="step", dynamic_ncols=True)


def _sample(accelerator, pipe, unet, cfg, run_dir, step, items, device, weight_dtype) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        sample_images(pipe, accelerator.unwrap_model(unet), cfg, run_dir, step, items, device, weight_dtype)
    accelerator.wait_for_everyone()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quiet_libraries()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: accelerate launch -m lora_studio.train CONFIG [key=value ...]")
        return 0 if argv else 2
    try:
        cfg = load_config(argv[0], argv[1:])
        train(cfg)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

