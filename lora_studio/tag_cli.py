"""`lora-studio tag DATASET`: tag a dataset's pictures, suggest the tags to prune, remove them, or undo."""

from __future__ import annotations

import argparse
from pathlib import Path

from .console import say
from .errors import DatasetError
from .tag_options import DEFAULT_MODEL, HUB_MODELS, MODES, TagOptions
from .text import render


def add_arguments(p: argparse.ArgumentParser) -> None:
    defaults = TagOptions()
    p.add_argument("dataset", help="dataset folder, e.g. datasets/my-character")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"{', '.join(HUB_MODELS)}, a hub id, a local folder, or tiny (offline; meaningless tags)")
    p.add_argument("--threshold", type=float, default=defaults.threshold, help="confidence for general tags")
    p.add_argument("--character-threshold", type=float, default=defaults.character_threshold,
                   help="confidence for character tags")
    p.add_argument("--mode", choices=MODES, default=defaults.mode,
                   help="pictures that have tags: add new ones after them, replace them, or keep them as they are")
    p.add_argument("--trigger", default="", help="trigger word put first in every caption written")
    p.add_argument("--exclude", default="", help="comma-separated tags never to write, e.g. 'simple background'")
    p.add_argument("--ratings", action="store_true", help="also write the rating tag (general, sensitive, ...)")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--remove", default=None, metavar="TAGS",
                   help="do not tag: remove these comma-separated tags from every picture (backup kept)")
    p.add_argument("--restore", action="store_true",
                   help="do not tag: put back the tags from before the last tagging or --remove (once)")


def _folder(dataset: str) -> Path:
    folder = Path(dataset).expanduser()
    if not folder.is_dir():
        raise DatasetError("tagger.folder_missing", folder=folder)
    return folder


def _print_candidates(folder: Path, captions: list[list[str]], trigger: str, character_tags: list[str],
                      lang: str) -> None:
    from .tag_prune import candidates

    found = candidates(captions, trigger, character_tags)
    if not found:
        return
    print()
    say("console.prune_why", lang)
    for c in found:
        say("console.prune_line", lang, tag=c.tag, count=c.count, total=c.total, kind=c.kind)
    say("console.prune_how", lang, folder=folder, names=", ".join(c.tag for c in found))


def run_tag_cli(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .tag_files import backup_info, dataset_items, remove_tags, restore_backup, shared_trigger, tag_items
    from .tagger import load_tagger

    folder, lang = _folder(args.dataset), args.lang
    if args.restore:
        say("console.tags_restored", lang, n=restore_backup(folder), folder=folder)
        return 0
    items, warnings = dataset_items(folder)
    for line in warnings:  # missing or empty captions are what tagging is for; skipped pictures are worth a word
        if line.startswith(("skipped", "ignored")):
            say("console.warning", lang, message=line)
    if args.remove is not None:
        info = backup_info(folder)
        n = remove_tags(folder, items, [args.remove], info["character_tags"] if info else ())
        say("console.tags_removed", lang, n=n, folder=folder)
        return 0
    options = TagOptions(model=args.model, threshold=args.threshold, character_threshold=args.character_threshold,
                         ratings=args.ratings, mode=args.mode, trigger=args.trigger, exclude=args.exclude,
                         batch_size=args.batch_size).check()
    tagger = load_tagger(options.model)
    if tagger.note:
        say("console.note", lang, message=tagger.note)
    with tqdm(total=len(items), unit="picture", desc="tagging") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = tag_items(folder, items, tagger, options, progress)
    for line in report.skipped:
        say("console.warning", lang, message=line)
    undo = render("console.tagged_undo", lang, folder=folder) if report.changed else ""
    print(render("console.tagged", lang, tagged=report.tagged, pictures=report.pictures, tagger=tagger.name,
                 device=tagger.device.type, changed=report.changed) + undo)
    trigger = options.trigger.strip() or shared_trigger(items)
    _print_candidates(folder, list(report.captions.values()), trigger, report.character_tags, lang)
    return 0
