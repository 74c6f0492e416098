"""The language the command line speaks, and its printing: errors, warnings and notes (log lines carrying a keyed
`Text`) in English or Japanese.

The language is `--lang`, else LORA_STUDIO_LANG, else the system's (LC_ALL, LC_MESSAGES, LANG: ja_JP.UTF-8 speaks
Japanese), else English. `lora-studio --lang` sets LORA_STUDIO_LANG, so the trainer process it starts speaks the
same language."""

from __future__ import annotations

import copy
import logging
import os
import sys
from collections.abc import Mapping

from .errors import UserError
from .text import LANGS, in_language, render

LANG_ENV = "LORA_STUDIO_LANG"


def console_language(environ: Mapping[str, str] = os.environ, strict: bool = False) -> str:
    """'en' or 'ja' for what the command line prints. A LORA_STUDIO_LANG that is neither is refused by name when
    `strict` (a command starting), else passed over (a line printed inside the studio's server)."""
    chosen = environ.get(LANG_ENV, "").strip().lower()
    if chosen in LANGS:
        return chosen
    if chosen and strict:
        raise UserError("console.bad_lang", value=environ[LANG_ENV])
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):  # POSIX: the first one set decides
        if environ.get(name):
            return "ja" if environ[name].lower().startswith("ja") else "en"
    return "en"


class _InLanguage(logging.Formatter):
    """Renders keyed texts (a Text, a UserError) in a log record's message and arguments in one language."""

    def __init__(self, lang: str) -> None:
        super().__init__("%(message)s")
        self.lang = lang

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple):
            record = copy.copy(record)
            record.msg = in_language(record.msg, self.lang)
            record.args = tuple(in_language(arg, self.lang) for arg in record.args)
        return super().format(record)


def setup_logging(lang: str, level: int = logging.INFO) -> None:
    """Log lines as plain messages on stderr, keyed texts in `lang`."""
    handler = logging.StreamHandler()
    handler.setFormatter(_InLanguage(lang))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def say(key: str, lang: str, /, **values: object) -> None:
    """Print the text `key` in `lang` on stdout."""
    print(render(key, lang, **values), flush=True)


def print_error(error: UserError | str, lang: str) -> None:
    """The one-line `error: ...` (`エラー: ...`) on stderr; launch.py recognises a trainer's message by it."""
    message = error.render(lang) if isinstance(error, UserError) else str(error)
    print(render("console.error", lang, message=message), file=sys.stderr, flush=True)
