"""Errors a user can act on. The CLI and the studio print their message, never a traceback.

Each is raised with a key of lora_studio/text and its values:
`ConfigError("config.unknown_key", key=..., known=...)`. str() is the English sentence (the CLI and the logs
print it); `render(lang)` gives it in any language.
"""

from __future__ import annotations

from .text import Text, is_key, render


class UserError(Exception):
    """Bad input or an unmet precondition; the message says what is wrong and what to do."""

    key: str
    values: dict

    def __init__(self, key: str, /, **values: object) -> None:
        if isinstance(key, Text):  # a message composed earlier (a warning, a write failure): keep its key
            key, values = key.key, {**key.values, **values}
        self.key, self.values = key, values
        # A plain sentence (code written before keys) still works: it is its own text in every language.
        super().__init__(render(key, "en", **values) if is_key(key) else key)

    def render(self, lang: str) -> str:
        """The message in `lang` ('en' or 'ja')."""
        return render(self.key, lang, **self.values) if is_key(self.key) else str(self)

    def __reduce__(self):  # pickled with its key (by a process handing it on), not only its English
        return _rebuild, (type(self), self.key, self.values)

    def text(self) -> Text | str:
        """The message as a Text to render later (the sentence itself for a plain-sentence error)."""
        return Text(self.key, **self.values) if is_key(self.key) else str(self)


def _rebuild(cls: type[UserError], key: str, values: dict) -> UserError:
    return cls(key, **values)


class ConfigError(UserError):
    """A config file or a key=value override is wrong."""


class DatasetError(UserError):
    """The dataset folder cannot be used."""


class BaseModelError(UserError):
    """The base model cannot be loaded."""


class TrainingStopped(UserError):
    """Training stopped on purpose (NaN loss, out of memory); the message holds the advice."""


class StudioError(UserError):
    """A UserError the studio composed (a key of text/studio.py); str() stays English."""

    @property
    def msg(self) -> Text:
        return Text(self.key, **self.values)
