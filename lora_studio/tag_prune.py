"""Tag pruning for a character LoRA: find the tags that describe the character itself and are on most pictures.

Such a tag (`green hair`, `blue eyes`, `twintails`, the character's own name tag) competes with the trigger word:
during training the look is explained by those tags instead of being learned by the trigger word, so the finished
LoRA draws the character only when every one of them is typed too. Removing them from the captions makes the
trigger word carry the whole look. Tags of things that change from picture to picture (clothes, pose,
background, `closed eyes`) stay: they let you change those things later.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .data import parse_tags

# Hairstyles and body features a character always has; colours are matched by the patterns below.
HAIRSTYLES = frozenset({
    "twintails", "low twintails", "short twintails", "ponytail", "high ponytail", "low ponytail", "side ponytail",
    "ahoge", "braid", "twin braids", "single braid", "side braid", "french braid", "crown braid", "braided ponytail",
    "hair bun", "double bun", "single hair bun", "bangs", "blunt bangs", "swept bangs", "parted bangs",
    "asymmetrical bangs", "sidelocks", "hair between eyes", "hime cut", "bob cut", "drill hair", "twin drills",
    "ringlets", "hair intakes", "antenna hair", "hair over one eye", "one side up", "two side up", "half updo",
    "hair flaps", "spiked hair", "curly hair", "wavy hair", "straight hair", "messy hair",
})
BODY = frozenset({
    "animal ears", "cat ears", "fox ears", "dog ears", "wolf ears", "rabbit ears", "horse ears", "pointy ears",
    "horns", "single horn", "tail", "cat tail", "fox tail", "dog tail", "wolf tail", "wings", "demon wings",
    "angel wings", "halo", "fang", "fangs", "skin fang", "freckles", "mole", "mole under eye", "mole under mouth",
    "heterochromia", "dark skin", "dark-skinned female", "dark-skinned male", "tan", "pale skin", "elf",
    "flat chest", "small breasts", "medium breasts", "large breasts", "huge breasts", "thick eyebrows",
    "slit pupils", "symbol-shaped pupils", "tsurime", "tareme", "facial mark", "scar", "scar on face",
})
_HAIR = re.compile(r"^[\w -]+ hair$")  # blonde hair, very long hair, multicolored hair, two-tone hair
_EYES = re.compile(r"^[\w -]+ eyes$")  # blue eyes, red eyes
_HAIR_PARTS = re.compile(r"^(streaked|colored inner|gradient|multicolored|two-tone) hair$|^[\w-]+ (streaks|tips)$")
# "closed eyes", "wet hair", "hand in own hair": expressions, states and actions, not the character's look.
_NOT_TRAITS = frozenset({
    "closed eyes", "half-closed eyes", "covered eyes", "covering eyes", "rolling eyes", "empty eyes", "crazy eyes",
    "wide-eyed eyes", "floating hair", "wet hair", "hair up", "hair down", "tied hair", "windblown hair",
    "body hair", "pubic hair", "facial hair", "armpit hair", "hair ornament",
})
_ACTIONS = re.compile(r"^(hand|hands|holding|adjusting|playing with|pulling|tucking|grabbing|touching|brushing|"
                      r"cutting|tying|drying|washing|covering|rubbing|wiping|shading)\b")
KINDS = ("character", "hair", "eyes", "hairstyle", "body")


def trait_kind(tag: str) -> str | None:
    """Which part of the character's look `tag` describes ("hair", "eyes", "hairstyle", "body"), or None."""
    tag = tag.strip().lower().replace("_", " ")
    if tag in _NOT_TRAITS or _ACTIONS.match(tag):
        return None
    if tag in HAIRSTYLES:
        return "hairstyle"
    if tag in BODY:
        return "body"
    if _HAIR.match(tag) or _HAIR_PARTS.match(tag):
        return "hair"
    if _EYES.match(tag):
        return "eyes"
    return None


@dataclass(frozen=True)
class Candidate:
    tag: str
    count: int      # pictures whose caption has it
    total: int      # pictures in the dataset
    kind: str       # one of KINDS

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


def candidates(captions: Iterable[list[str]], trigger: str = "", character_tags: Iterable[str] = (),
               min_share: float = 0.5) -> list[Candidate]:
    """The character's own tags on at least `min_share` of the pictures, most frequent first (the trigger word and
    tags on a single picture are never suggested)."""
    captions = list(captions)
    counts = Counter(tag for tags in captions for tag in dict.fromkeys(tags))
    names = {tag.lower() for tag in character_tags}
    skip = set(parse_tags(trigger))
    found = []
    for tag, count in counts.items():
        kind = "character" if tag.lower() in names else trait_kind(tag)
        if kind and tag not in skip and count >= 2 and count >= min_share * len(captions):
            found.append(Candidate(tag, count, len(captions), kind))
    return sorted(found, key=lambda c: (-c.count, KINDS.index(c.kind), c.tag))
