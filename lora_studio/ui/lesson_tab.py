"""Lesson tab (wired to lora_studio.lesson once it lands)."""

from __future__ import annotations

import gradio as gr

from .common import Studio


def build(studio: Studio) -> None:
    gr.Markdown("The lesson is being written.")
