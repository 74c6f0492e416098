"""What automatic tagging can be asked for (the CLI's flags, the studio's form), without importing torch or timm."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError

HUB_MODELS = {
    "wd-vit-tagger-v3": "SmilingWolf/wd-vit-tagger-v3",
    "wd-swinv2-tagger-v3": "SmilingWolf/wd-swinv2-tagger-v3",
    "wd-eva02-large-tagger-v3": "SmilingWolf/wd-eva02-large-tagger-v3",
}
DEFAULT_MODEL = "wd-vit-tagger-v3"
TINY = "tiny"
MODES = ("add", "replace", "keep")
# Emoticon tags keep their underscores: "^_^" is a tag, "^ ^" is not (the list SmilingWolf's wd-tagger space
# uses; kohya's script keeps every tag of 3 characters or fewer, which `tag_text` also does).
KAOMOJIS = frozenset({
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o", "@_@",
    "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
})


class TaggerError(UserError):
    """The tagger cannot be loaded or the tagging options are wrong; the message says what to do."""


# ---------------------------------------------------------------- options


@dataclass
class TagOptions:
    """What the CLI's flags and the studio's Tag form choose."""

    model: str = DEFAULT_MODEL        # a name of HUB_MODELS, a hub id owner/name, a local folder, or tiny
    threshold: float = 0.35           # general tags at or above this confidence are written
    character_threshold: float = 0.85
    ratings: bool = False             # write the most likely rating tag (general, sensitive, ...)
    mode: str = "add"                 # pictures that have tags: add new ones after them, replace them, or keep them
    trigger: str = ""                 # put first in every caption written
    exclude: str = ""                 # comma-separated tags never to write
    batch_size: int = 8

    def check(self) -> TagOptions:
        for key in ("threshold", "character_threshold"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise TaggerError("tagger.bad_threshold", key=key, value=value)
        if self.mode not in MODES:
            raise TaggerError("tagger.bad_mode", mode=self.mode, modes=", ".join(MODES))
        if self.batch_size < 1:
            raise TaggerError("tagger.bad_batch_size", batch_size=self.batch_size)
        return self

    def excluded(self) -> set[str]:
        return {same_tag(tag) for tag in split_tags(self.exclude)}


def same_tag(tag: str) -> str:
    """The form two spellings of a tag share: 'long_hair' and 'Long Hair' are one tag."""
    return tag.replace("_", " ").strip().lower()


def tag_text(name: str) -> str:
    """A tag as captions write it: underscores become spaces, except in emoticons like `^_^`."""
    if name in KAOMOJIS or len(name) <= 3:
        return name
    return name.replace("_", " ")


def split_tags(text: str) -> list[str]:
    """Comma- or line-separated tags, stripped, inner spaces collapsed (like data.parse_tags)."""
    tags = (" ".join(part.split()) for part in text.replace("\n", ",").replace("\r", ",").split(","))
    return [tag for tag in tags if tag]
