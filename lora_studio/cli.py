"""`lora-studio` command line: a thin layer over the same functions the studio calls."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .console import LANG_ENV, console_language, print_error, say, setup_logging
from .errors import UserError
from .text import LANGS, Text, render

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _cmd_train(args: argparse.Namespace) -> int:
    from .launch import run_training

    return run_training(args.config, args.overrides, launcher_args=args.launch_args)


def _cmd_generate(args: argparse.Namespace) -> int:
    from .generate import GenerateConfig, generate

    cfg = GenerateConfig(
        base=args.base, loras=args.lora or [], prompt=args.prompt, negative_prompt=args.negative_prompt,
        steps=args.steps, guidance_scale=args.guidance_scale, sampler=args.sampler, seed=args.seed,
        width=args.width, height=args.height, batch_size=args.batch_size, out_dir=args.out,
        allow_pickle=args.allow_pickle, cuda_graphs=not args.eager,
    )
    for path in generate(cfg):
        print(path)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import CompareOptions, compare, parse_strengths, suggestion_text
    from .scores import TINY_SCORER_NOTE

    options = CompareOptions(strengths=parse_strengths(args.strengths), prompts=args.prompt or [], seed=args.seed,
                             steps=args.steps, scorer=args.scorer)

    def on_cell(row: int, column: int, path) -> None:
        if column == 0:
            say("console.rendering_row", args.lang, row=row + 1)

    result = compare(args.run_dir, options, on_cell=on_cell)
    # scores.json keeps the English line; a Japanese console gets the studio's sentence, without its Markdown
    suggestion = result.suggestion_line if args.lang == "en" else suggestion_text(result.scores, args.lang,
                                                                                 note=False).replace("**", "")
    say("console.compare_done", args.lang, grid=result.grid, scores=result.out_dir / "scores.json",
        suggestion=suggestion)
    if result.scores.get("meaningless"):
        say("console.note", args.lang, message=TINY_SCORER_NOTE)
    return 0


def _cmd_lesson(args: argparse.Namespace) -> int:
    from .lesson.cli import run_lesson_cli

    return run_lesson_cli(args.config, args.overrides)


def _cmd_lesson_predict(args: argparse.Namespace) -> int:
    from .lesson.cli import predict_cli

    return predict_cli(args.run_dir, args.images)


def _cmd_app(args: argparse.Namespace) -> int:
    from .ui.app import launch_app

    launch_app(host=args.host, port=args.port, share=args.share, auth=args.auth, root=args.root)
    return 0


def _cmd_tag(args: argparse.Namespace) -> int:
    from .tag_cli import run_tag_cli

    return run_tag_cli(args)


def _cmd_sample_dataset(args: argparse.Namespace) -> int:
    from .sample_data import make_sample_dataset

    folder = make_sample_dataset(args.folder)
    say("console.sample_written", args.lang, folder=folder)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .config import SAMPLERS
    from .generate import GenerateConfig

    gen = GenerateConfig(base="")  # the one source of generation defaults

    parser = argparse.ArgumentParser(prog="lora-studio", description="Train and use Stable Diffusion LoRAs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    parser.add_argument("--lang", choices=LANGS, default=None,
                        help=f"language of messages: en or ja (default: ${LANG_ENV}, else the system's language)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a LoRA: lora-studio train CONFIG [key=value ...]")
    p.add_argument("config", help="YAML config, e.g. configs/quickstart.yaml")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.max_train_steps=100 output_dir=runs/a")
    p.add_argument("--launch-args", default="", help="extra arguments for 'accelerate launch', e.g. '--num_processes 2'")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("generate", help="generate images with a base model and LoRA adapters")
    p.add_argument("--base", required=True, help="hub id, local folder, .safetensors file (SD 1.x/2.x/SDXL), or tiny / tiny-sdxl")
    p.add_argument("--lora", action="append", help="adapter file, optionally PATH:SCALE (repeatable)")
    p.add_argument("--prompt", required=True, help="comma-separated tags, e.g. 'mychar, 1girl, green hair'")
    p.add_argument("--negative-prompt", default=gen.negative_prompt)
    p.add_argument("--steps", type=int, default=gen.steps)
    p.add_argument("--guidance-scale", type=float, default=gen.guidance_scale)
    p.add_argument("--sampler", default=gen.sampler, choices=SAMPLERS)
    p.add_argument("--seed", type=int, default=gen.seed, help="-1 picks a random seed (printed in the PNG metadata)")
    p.add_argument("--width", type=int, default=None, help="default: the base model's native size")
    p.add_argument("--height", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=gen.batch_size)
    p.add_argument("--out", default=gen.out_dir, help="folder for the PNGs")
    p.add_argument("--allow-pickle", action="store_true", help="allow a pickle .ckpt base you trust")
    p.add_argument("--eager", action="store_true", help="on a GPU, run the UNet without CUDA graphs (slower; for comparison)")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("compare", help="render every saved adapter of a run at several strengths and prompts, "
                                         "score likeness and prompt following, and suggest one")
    p.add_argument("run_dir", help="a run folder, e.g. outputs/my-character")
    p.add_argument("--strengths", default="0.6,0.8,1.0", help="comma-separated adapter strengths (columns)")
    p.add_argument("--prompt", action="append", help="a prompt (repeatable; default: the run's sample prompts "
                                                     "plus two new places)")
    p.add_argument("--seed", type=int, default=None, help="seed of the first prompt (default: the run's sample.seed)")
    p.add_argument("--steps", type=int, default=None, help="denoising steps (default: the run's sample.steps)")
    p.add_argument("--scorer", default="auto", choices=("auto", "real", "tiny"),
                   help="score models: real (DINO + CLIP from the hub), tiny (random, meaningless; the default for "
                        "the tiny base)")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("lesson", help="the MobileNetV2 cats-vs-dogs lesson: lora-studio lesson CONFIG [key=value ...]")
    p.add_argument("config")
    p.add_argument("overrides", nargs="*")
    p.set_defaults(func=_cmd_lesson)

    p = sub.add_parser("lesson-predict", help="classify photos with a trained lesson model")
    p.add_argument("run_dir")
    p.add_argument("images", nargs="+")
    p.set_defaults(func=_cmd_lesson_predict)

    p = sub.add_parser("app", help="open the studio in the browser")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this computer only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="make a public gradio.live link (anyone with it can use the app)")
    p.add_argument("--auth", default=None, help="require a login, as user:password")
    p.add_argument("--root", default=".", help="folder holding datasets/ and outputs/")
    p.set_defaults(func=_cmd_app)

    from .tag_cli import add_arguments as add_tag_arguments

    p = sub.add_parser("tag", help="tag a dataset's pictures automatically (WD tagger): lora-studio tag datasets/NAME")
    add_tag_arguments(p)
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("sample-dataset", help="write the generated sample character dataset")
    p.add_argument("folder", nargs="?", default="datasets/sample-character")
    p.set_defaults(func=_cmd_sample_dataset)
    return parser


def _cuda_oom() -> type[BaseException]:
    torch = sys.modules.get("torch")  # only a command that imported torch can have run out of GPU memory
    return getattr(torch, "OutOfMemoryError", MemoryError) if torch else MemoryError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.lang:
        os.environ[LANG_ENV] = args.lang  # the trainer process started below speaks it too
    try:
        args.lang = console_language(strict=True)
    except UserError as e:
        print_error(e, "en")
        return 2
    setup_logging(args.lang, logging.DEBUG if args.verbose else logging.INFO)
    if not args.verbose:
        from .training_setup import quiet_libraries

        quiet_libraries()
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print_error(e, args.lang)
        return 2
    except (MemoryError, _cuda_oom()) as e:  # the training loop has its own advice; the other commands get this
        detail = str(e).splitlines()[0][:200] if str(e) else render("console.no_details", args.lang)
        print_error(Text("console.out_of_memory", detail=detail).render(args.lang), args.lang)
        return 2
    except KeyboardInterrupt:
        print(render("console.interrupted", args.lang), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
