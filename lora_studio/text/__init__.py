"""Every user-facing text of lora-studio in English and Japanese, by key, in one shape:
`{key: (english, japanese)}` with `{placeholders}`.

    core.py    errors and warnings of the library (config, data, models, lora, generate, train, jobs...)
      lesson_errors.py  ... of the lesson (its config, photos, download), part of core's table
      tagging.py        ... of automatic tagging, and the studio's tag panel (part of core's and studio's tables)
      sdxl.py           ... of SDXL bases, and the studio's SDXL presets and base notes (likewise)
      compare.py        ... of the adapter comparison, and the studio's Compare tab (likewise)
      console.py        what the command line prints besides errors
    studio.py  the studio's labels, help texts and server-side messages
    lesson.py  the lesson's lines and explanations
    help.py    the training settings' explanations in Japanese (the English ones are the fields' `help`)

`render(key, lang, **values)` fills one in; a `Text` carries a key and its values until the reader's language
is known (it is a str holding the English, so logs and JSON keep working). Errors carry their key the same way
(errors.UserError), so any language renders them from where they were raised: nothing is translated back.
"""

from __future__ import annotations

from .core import CORE
from .lesson import LESSON
from .studio import STUDIO

LANGS = ("en", "ja")

TEXTS: dict[str, tuple[str, str]] = {**CORE, **STUDIO, **LESSON}


def _pair(key: str) -> tuple[str, str] | None:
    pair = TEXTS.get(key)
    if pair is None and key.startswith("h__"):  # a setting's help: built from the config fields on first use
        from .help import help_texts

        pair = help_texts().get(key)
    return pair


def is_key(key: object) -> bool:
    """Whether `key` names a text (rather than being a sentence itself)."""
    return isinstance(key, str) and _pair(key) is not None


def render(key: str, lang: str = "en", /, **values: object) -> str:
    """The text `key` in `lang` ('en' or 'ja'; anything else reads English) with its `{placeholders}` filled in.

    Values that are keyed texts themselves (a Text, a UserError) render in the same language; an unknown key
    is returned as it is (a plain sentence from code that predates keys)."""
    pair = _pair(key)
    if pair is None:
        return key
    text = pair[1] if lang == "ja" else pair[0]
    if not values:
        return text
    return text.format(**{name: in_language(value, lang) for name, value in values.items()})


def in_language(value: object, lang: str) -> object:
    """`value` in `lang` when it is a keyed text (has .render), else unchanged; a list is rendered item by
    item and joined with '; '."""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(in_language(item, lang)) for item in value)
    renderer = getattr(value, "render", None)
    return renderer(lang) if callable(renderer) else value


class Text(str):
    """A text by key: its English (so it works anywhere a str does, e.g. a log line or the API's JSON), plus
    the key and values that render it in the reader's language later."""

    key: str
    values: dict

    def __new__(cls, key: str, /, **values: object) -> Text:
        self = super().__new__(cls, render(key, "en", **values))
        self.key, self.values = key, values
        return self

    def render(self, lang: str) -> str:
        return render(self.key, lang, **self.values)

    def to_json(self) -> dict:
        """A plain dict that `from_json` turns back into the Text (values that are not texts become str)."""
        return {"key": self.key,
                "values": {name: value.to_json() if isinstance(value, Text) else str(in_language(value, "en"))
                           for name, value in self.values.items()}}

    @classmethod
    def from_json(cls, data: dict) -> Text:
        values = {name: cls.from_json(value) if isinstance(value, dict) else value
                  for name, value in data.get("values", {}).items()}
        return cls(data["key"], **values)
