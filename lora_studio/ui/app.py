"""The studio: one Gradio Blocks app with four tabs, in English or Japanese, serving only datasets/ and outputs/.

    lora-studio app [--host 127.0.0.1] [--port 7860] [--share] [--auth user:pass] [--root .]
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import gradio as gr
import httpx

from ..errors import UserError
from ..jobs import Jobs
from ..studio_paths import StudioPaths
from ..text import Text
from . import compare_tab, dataset_tab, generate_tab, lesson_tab, train_tab
from .common import Studio
from .i18n import I18N, tr
from .run_view import plot_titles

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

CSS = """
.ls-progress { height: 14px; border-radius: 7px; overflow: hidden; background: var(--neutral-200); }
.ls-bar { height: 100%; background: var(--color-accent); transition: width 0.6s; }
.ls-progress[data-state="failed"] .ls-bar { background: var(--error-background-fill, #e53935); }
.ls-progress-text { margin-top: 4px; font-size: 0.95em; }
#ls-summaries pre, #ls-summaries pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
#ls-summaries pre { font-size: 0.85em; }
"""
# gradio 6 titles every pop-up with its type in English ("Error") and stacks earlier ones under a count
# ("Error (2)"); its `title` argument never reaches the page. The page shows the newest error alone (warnings, such
# as the files one upload refused, stay together) and titles pop-ups in the page's language (the data-ls-lang
# attribute the language switch sets).
TOAST_CSS = """
.toast-body.error .toast-count, .toast-body.error .toast-separator { display: none !important; }
.toast-body.error .toast-message-item:not(:last-child) { display: none !important; }
""" + "".join(f"""
html[data-ls-lang="ja"] .toast-title.{kind} {{ font-size: 0 !important; }}
html[data-ls-lang="ja"] .toast-title.{kind}::before {{ content: "{tr('ja', key)}"; font-size: var(--text-lg); }}
""" for kind, key in (("error", "toast_error"), ("warning", "toast_warning"), ("info", "toast_info")))

# The language: gradio's translation runtime lives in its `core-*.js` module; importing the URL the page already
# loaded gives the same instance, whose changeLocale re-renders the mounted translated texts. The choice is kept in
# localStorage, so a reload (or the next visit) opens in the same language. Tab labels of tabs never opened and
# texts the server made are redrawn by the server (relabel, rerender).
_LOCALE_JS = """
const LANG_KEY = 'lora-studio-lang';
const UPLOAD_TEXTS = [["Drop File Here", "ファイルをここにドロップ"], ["Drop Image Here", "画像をここにドロップ"],
  ["Click to Upload", "クリックしてアップロード"], ["- or -", "- または -"],
  ["Paste from Clipboard", "クリップボードから貼り付け"]];
// gradio's upload boxes take their words once, when drawn: redraw them in the page's language, also after
// gradio draws them again (a cleared file list).
function relabelUploads() {
  const ja = document.documentElement.dataset.lsLang === 'ja';
  for (const root of document.querySelectorAll('#ds-files, #ls-photo')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, text = node.nodeValue.trim();
      const pair = UPLOAD_TEXTS.find(p => p.includes(text));
      if (pair && text !== pair[ja ? 1 : 0]) node.nodeValue = node.nodeValue.replace(text, pair[ja ? 1 : 0]);
    }
  }
  if (!window.lsUploadObserver) {
    window.lsUploadObserver = new MutationObserver(relabelUploads);
    window.lsUploadObserver.observe(document.body, {childList: true, subtree: true, characterData: true});
  }
}
async function applyLocale(choice) {
  document.documentElement.dataset.lsLang = choice;  // the CSS that titles pop-ups in this language
  relabelUploads();
  try {
    const loaded = performance.getEntriesByType('resource').map(e => e.name);
    const url = loaded.find(n => /\\/assets\\/core-[^/]*\\.js(\\?|$)/.test(n));
    (await import(url)).changeLocale(choice);
  } catch (error) {
    console.warn('language switch failed; use Settings at the bottom of the page', error);
  }
}
"""
SWITCH_LANGUAGE_JS = "async (choice) => {" + _LOCALE_JS + """
  try { localStorage.setItem(LANG_KEY, choice); } catch (error) {}
  await applyLocale(choice);
  return choice;
}"""
BROWSER_LANGUAGE_JS = "async (x) => {" + _LOCALE_JS + """
  let stored = null;
  try { stored = localStorage.getItem(LANG_KEY); } catch (error) {}
  if (stored === 'en' || stored === 'ja') { await applyLocale(stored); return stored; }
  const choice = (navigator.language || 'en').toLowerCase().startsWith('ja') ? 'ja' : 'en';
  document.documentElement.dataset.lsLang = choice;
  relabelUploads();
  return choice;
}"""
TAB_KEYS = ("tab_dataset", "tab_train", "tab_compare", "tab_generate", "tab_lesson")


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
        with gr.Tabs() as tab_set:
            with gr.Tab(I18N("tab_dataset"), id="dataset", elem_id="tab-dataset") as dataset_page:
                dataset = dataset_tab.build(studio)
            with gr.Tab(I18N("tab_train"), id="train", elem_id="tab-train") as train_page:
                train = train_tab.build(studio, dataset=dataset)
            with gr.Tab(I18N("tab_compare"), id="compare", elem_id="tab-compare") as compare_page:
                compare = compare_tab.build(studio)
            with gr.Tab(I18N("tab_generate"), id="generate", elem_id="tab-generate") as generate_page:
                generate = generate_tab.build(studio)
            with gr.Tab(I18N("tab_lesson"), id="lesson", elem_id="tab-lesson") as lesson_page:
                lesson = lesson_tab.build(studio)
        tabs = {dataset_page: dataset, train_page: train, compare_page: compare, generate_page: generate,
                lesson_page: lesson}
        plots = [plot for tab in tabs.values() for plot in tab.plots]
        shows = [tab.show.event() for tab in tabs.values() if tab.show]
        messages = [line for tab in tabs.values() for line in tab.messages]

        def relabel(code: str):
            """The language for this page, every tab label in it (gradio redraws only the open tab's) and the
            plots' axis titles."""
            code = code if code in ("en", "ja") else "en"
            return (code, code, *(gr.Tab(label=tr(code, key)) for key in TAB_KEYS), *plot_titles(code, plots))

        private = dict(api_visibility="private")
        relabelled = [lang, switch, *tabs, *(plot.chart for plot in plots)]
        # Switching language redraws what the server wrote; messages about past actions are cleared, not kept
        # in the old language.
        _then_each(switch.input(relabel, [switch], relabelled, js=SWITCH_LANGUAGE_JS, **private), shows).then(
            lambda: [""] * len(messages), None, messages, **private)
        # A page opens on the first tab: only it draws now; the others draw when opened. Drawing them here too
        # raced with opening one early: a tab's show reads its form as the browser sent it, and the later of
        # two shows could bring back what the earlier had just replaced.
        _then_each(demo.load(relabel, [switch], relabelled, js=BROWSER_LANGUAGE_JS, **private), [dataset.show.event()])
        for page, tab in tabs.items():
            if tab.show:
                page.select(**tab.show.event())
        # A picture's adapter, strength and prompt go to the Generate tab's first slot, which then opens.
        compare.shared["send"].click(compare_tab.send_to_generate, [compare.shared["picked"], lang],
                                     generate.shared["slot"], **private).success(**generate.show.event()).then(
            lambda: gr.Tabs(selected="generate"), None, [tab_set], **private)
    demo.studio_paths = paths  # for launch_app and the tests
    return demo


def _then_each(event: Any, steps: list[dict]) -> Any:
    for step in steps:
        event = event.then(**step)
    return event


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise UserError("app_bad_auth")
    return user, password


def launch_kwargs(demo: gr.Blocks) -> dict:
    """What every launch of the studio passes: translations, style, and the only folders it may serve."""
    return dict(i18n=I18N, css=CSS + TOAST_CSS, allowed_paths=demo.studio_paths.served(), max_file_size="200mb",
                footer_links=["api", "settings"])


def launch_app(host: str = "127.0.0.1", port: int = 7860, share: bool = False, auth: str | None = None,
               root: str | Path = ".", block: bool = True) -> gr.Blocks:
    """Start the studio; binds to this computer only unless `host` says otherwise."""
    credentials = parse_auth(auth)
    if (host not in LOCAL_HOSTS or share) and credentials is None:
        log.warning("%s", Text("console.warning", message=Text("app_open_to_others",
                                                               where=Text("app_share_link") if share else host)))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(root)
    demo.queue(default_concurrency_limit=2)
    # gradio's own check that the page answers (_frontend) gives up after one 3 s request, which a busy machine
    # misses, and then blames the network ("When localhost is not accessible..."): wait longer here instead.
    try:
        demo.launch(server_name=host, server_port=port, share=share, auth=credentials, prevent_thread_lock=True,
                    show_error=False, _frontend=False, **launch_kwargs(demo))
        wait_until_served(demo.local_url)
    except httpx.HTTPError as e:  # gradio asks its own page for its startup events once: a proxy can stand between
        demo.close()
        raise UserError("app_unreachable", url=demo.local_url, detail=e) from None
    except UserError:
        demo.close()
        raise
    if block:
        demo.block_thread()
    return demo


def wait_until_served(url: str, timeout: float = 180.0) -> None:
    """Return once the page at `url` answers; a studio that never does is named, with what to check."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # 401/30x: a page behind --auth answers with its login
            if httpx.head(url, timeout=30, verify=False).status_code in (200, 401, 301, 302, 303, 307, 308):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            raise UserError("app_not_answering", url=url, seconds=f"{timeout:g}")
        time.sleep(0.2)
