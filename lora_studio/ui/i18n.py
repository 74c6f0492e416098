"""The studio's side of lora_studio/text: the browser's gr.I18n table (labels and help, from text/studio.py and
text/help.py), and `tr`/`say` for the texts made on the server, in the session's language.

Every error and warning carries its key from where it was raised (errors.UserError, text.Text), so `say` renders it
in Japanese from the key; nothing is translated back from English.
"""

from __future__ import annotations

import gradio as gr

from ..errors import StudioError
from ..text import LANGS, Text, in_language, render
from ..text.help import help_key, help_texts
from ..text.studio import STUDIO

__all__ = ["I18N", "LANGS", "TEXT", "StudioError", "Text", "help_key", "say", "tr"]

TEXT = STUDIO  # the studio's own table (labels, help, messages); text/studio.py


# The browser gets the labels and help; the server-side messages only ever go through tr().
I18N = gr.I18n(**{lang: {key: pair[i] for key, pair in {**STUDIO, **help_texts()}.items()}
                  for i, lang in enumerate(LANGS)})


def tr(lang: str, key: str, /, **values: object) -> str:
    """The text `key` (of any area: studio, core, lesson, help) in `lang`, with `{placeholders}` filled in."""
    return render(key, lang, **values)


def say(lang: str, line: object) -> str:
    """Any message in `lang`: a keyed text (a Text, a UserError) from its key; a plain line (a sentence from code
    that predates keys, a log line) as it is."""
    return str(in_language(line, lang))
