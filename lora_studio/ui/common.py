"""What every tab shares: the studio's folders and jobs, the page language, and readable errors."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..errors import UserError
from ..jobs import Jobs
from ..studio_paths import StudioPaths
from .i18n import say, tr

log = logging.getLogger(__name__)


@dataclass
class Studio:
    """One app's world: its folders, its training jobs and the per-session language state."""

    paths: StudioPaths
    jobs: Jobs
    lang: gr.State  # "en" or "ja", set from the browser on load and by the language switch


def message_of(error: Exception, lang: str = "en") -> str:
    """The sentence the page shows for `error`, in `lang`, rendered from the key it was raised with."""
    if isinstance(error, UserError):
        return error.render(lang)
    # Anything else is our bug: the server log gets the traceback, the page a sentence.
    log.exception("unexpected error in the studio")
    return tr(lang, "unexpected_error", kind=type(error).__name__, detail=str(error)[:300])


def _lang_from(args: tuple, kwargs: dict, params: list[str]) -> str:
    if "lang" in kwargs:
        return kwargs["lang"] or "en"
    if "lang" in params and params.index("lang") < len(args):
        return args[params.index("lang")] or "en"
    return "en"


def readable_errors(fn: Callable) -> Callable:
    """Turn any exception into a gr.Error with a readable message (never a stack trace on the page).

    Works for plain functions and generators; a `lang` argument, when the function has one, picks the language.
    """
    params = list(inspect.signature(fn).parameters)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as e:
                raise _page_error(e, _lang_from(args, kwargs, params)) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise _page_error(e, _lang_from(args, kwargs, params)) from None
    return wrapper


def _page_error(error: Exception, lang: str) -> gr.Error:
    return gr.Error(message_of(error, lang), title=tr(lang, "toast_error"), print_exception=False)


def warn_all(lines: list[str], lang: str, limit: int = 5) -> None:
    """Show up to `limit` warnings as toasts in `lang` (the full list stays on the page)."""
    for line in lines[:limit]:
        gr.Warning(say(lang, line), title=tr(lang, "toast_warning"))
