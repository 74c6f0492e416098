"""The studio: one Gradio Blocks app with four tabs, in English or Japanese, serving only datasets/ and outputs/.

    lora-studio app [--host 127.0.0.1] [--port 7860] [--share] [--auth user:pass] [--root .]
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import gradio as gr

from ..errors import UserError
from ..jobs import Jobs
from . import dataset_tab, generate_tab, lesson_tab, train_tab
from .common import Studio
from .i18n import I18N
from .paths import StudioPaths

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

CSS = """
.ls-progress { height: 14px; border-radius: 7px; overflow: hidden; background: var(--neutral-200); }
.ls-bar { height: 100%; background: var(--color-accent); transition: width 0.6s; }
.ls-progress[data-state="failed"] .ls-bar { background: var(--error-background-fill, #e53935); }
.ls-progress-text { margin-top: 4px; font-size: 0.95em; }
"""

# The language switch: gradio's translation runtime lives in its `core-*.js` module; importing the URL the
# page already loaded gives the same instance, whose changeLocale re-renders every translated text.
SWITCH_LANGUAGE_JS = """
async (choice) => {
  try {
    const loaded = performance.getEntriesByType('resource').map(e => e.name);
    const url = loaded.find(n => /\\/assets\\/core-[^/]*\\.js(\\?|$)/.test(n));
    const core = await import(url);
    core.changeLocale(choice);
  } catch (error) {
    console.warn('language switch failed; use Settings at the bottom of the page', error);
  }
  return choice;
}
"""
BROWSER_LANGUAGE_JS = "(x) => ((navigator.language || 'en').toLowerCase().startsWith('ja') ? 'ja' : 'en')"


def build_app(root: str | Path = ".") -> gr.Blocks:
    """The studio for the folder `root` (datasets/ and outputs/ under it)."""
    paths = StudioPaths.at(root)
    with gr.Blocks(title="LoRA Studio", fill_width=True) as demo:
        lang = gr.State("en")
        studio = Studio(paths=paths, jobs=Jobs(paths.outputs, cwd=paths.root), lang=lang)
        with gr.Row(equal_height=True):
            gr.Markdown("# " + "LoRA Studio")
            switch = gr.Radio([("English", "en"), ("日本語", "ja")], value="en", show_label=False, container=False,
                              elem_id="lang-switch", scale=0, min_width=200)
        gr.Markdown(I18N("intro"))
        with gr.Tabs():
            with gr.Tab(I18N("tab_dataset"), id="dataset"):
                dataset = dataset_tab.build(studio)
            with gr.Tab(I18N("tab_train"), id="train") as train_page:
                train = train_tab.build(studio)
            with gr.Tab(I18N("tab_generate"), id="generate") as generate_page:
                generate = generate_tab.build(studio)
            with gr.Tab(I18N("tab_lesson"), id="lesson"):
                lesson_tab.build(studio)

        switch.input(lambda choice: choice, [switch], [lang], js=SWITCH_LANGUAGE_JS, api_visibility="private")
        demo.load(lambda code: (code, code), [switch], [switch, lang], js=BROWSER_LANGUAGE_JS,
                  api_visibility="private").then(
            dataset.first, [dataset.name], [dataset.name], api_visibility="private").then(
            dataset.refresh, [dataset.name, lang], dataset.refresh_outputs, api_visibility="private").then(
            train.on_show, train.on_show_inputs, train.on_show_outputs, api_visibility="private").then(
            generate["refresh"], None, generate["refresh_outputs"], api_visibility="private")
        train_page.select(train.on_show, train.on_show_inputs, train.on_show_outputs, api_visibility="private")
        generate_page.select(generate["refresh"], None, generate["refresh_outputs"], api_visibility="private")
    demo.studio_paths = paths  # for launch_app and the tests
    return demo


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise UserError("--auth must look like user:password (both parts non-empty)")
    return user, password


def launch_kwargs(demo: gr.Blocks) -> dict:
    """What every launch of the studio passes: translations, style, and the only folders it may serve."""
    return dict(i18n=I18N, css=CSS, allowed_paths=demo.studio_paths.served(), max_file_size="200mb",
                footer_links=["api", "settings"])


def launch_app(host: str = "127.0.0.1", port: int = 7860, share: bool = False, auth: str | None = None,
               root: str | Path = ".", block: bool = True) -> gr.Blocks:
    """Start the studio; binds to this computer only unless `host` says otherwise."""
    credentials = parse_auth(auth)
    if (host not in LOCAL_HOSTS or share) and credentials is None:
        log.warning("warning: the studio is reachable from other computers (%s) without --auth user:password; "
                    "anyone who can reach it can train, generate and upload files", "share link" if share else host)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(root)
    demo.queue(default_concurrency_limit=2)
    demo.launch(server_name=host, server_port=port, share=share, auth=credentials, prevent_thread_lock=not block,
                show_error=False, **launch_kwargs(demo))
    return demo
