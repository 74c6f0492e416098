"""What every tab shares: the studio's folders and jobs, the page language, and readable errors."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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


@dataclass
class Step:
    """A server function with what it reads and writes, wired as a private event (the API lists only endpoints
    registered on purpose)."""

    fn: Callable
    inputs: list
    outputs: list
    # A line of events that run one at a time in the order they came (e.g. everything that writes one output).
    in_line: str | None = None

    def event(self) -> dict[str, Any]:
        line = dict(concurrency_id=self.in_line, concurrency_limit=1) if self.in_line else {}
        return dict(fn=self.fn, inputs=self.inputs, outputs=self.outputs, api_visibility="private", **line)


class Plot(NamedTuple):
    """A chart whose titles follow the page's language: text keys of its title (None: none) and axis titles."""

    chart: gr.LinePlot
    title: str | None
    x_title: str
    y_title: str


@dataclass
class Tab:
    """What every tab's build() returns, so the app wires all five alike (app.py)."""

    # Draws what the server wrote, in the page's language: when the tab opens, after a language switch, and on page
    # load for the tab a page opens on.
    show: Step | None = None
    messages: list = field(default_factory=list)  # lines about past actions, cleared when the language changes
    plots: list[Plot] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)  # components another tab reads or fills, by name


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
