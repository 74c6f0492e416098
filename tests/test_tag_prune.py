"""Pruning suggestions: the character's own look on most pictures, never its changing parts."""

from __future__ import annotations

import pytest

from lora_studio.tag_prune import Candidate, candidates, trait_kind


@pytest.mark.parametrize(("tag", "kind"), [
    ("green hair", "hair"), ("very long hair", "hair"), ("two-tone hair", "hair"), ("blonde_hair", "hair"),
    ("blue eyes", "eyes"), ("heterochromia", "body"), ("twintails", "hairstyle"), ("ahoge", "hairstyle"),
    ("side ponytail", "hairstyle"), ("cat ears", "body"), ("red streaks", "hair"),
    ("closed eyes", None), ("half-closed eyes", None), ("hand in own hair", None), ("floating hair", None),
    ("hair ornament", None), ("red dress", None), ("smile", None), ("1girl", None), ("looking at viewer", None),
])
def test_trait_kind(tag, kind):
    assert trait_kind(tag) == kind


def test_candidates_are_the_characters_look_on_most_pictures():
    captions = [
        ["mychar", "1girl", "green hair", "blue eyes", "twintails", "red dress", "hatsune miku"],
        ["mychar", "1girl", "green hair", "blue eyes", "twintails", "smile", "hatsune miku"],
        ["mychar", "1girl", "green hair", "closed eyes", "ponytail", "smile"],
        ["mychar", "1girl", "green hair", "blue eyes", "long hair"],
    ]
    found = candidates(captions, trigger="mychar", character_tags=["hatsune miku"])
    assert found == [
        Candidate("green hair", 4, 4, "hair"), Candidate("blue eyes", 3, 4, "eyes"),
        Candidate("hatsune miku", 2, 4, "character"), Candidate("twintails", 2, 4, "hairstyle"),
    ]
    assert found[1].share == 0.75
    # A stricter share keeps only what nearly every picture has; the trigger word is never suggested.
    assert [c.tag for c in candidates(captions, "mychar", min_share=0.9)] == ["green hair"]
    assert candidates([["mychar", "green hair"], ["mychar", "green hair"]], "green hair") == []
    assert candidates([["green hair"]]) == []  # one picture: nothing competes yet
