"""The studio's launch (ui/app.py): it waits for its own page as long as a busy machine needs, and names the
address and what to check when the page never answers."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lora_studio.errors import UserError
from lora_studio.ui.app import wait_until_served


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_page_that_never_answers_is_named_with_what_to_check():
    url = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(UserError) as caught:
        wait_until_served(url, timeout=0.5)
    assert url in str(caught.value) and "NO_PROXY" in str(caught.value)
    assert url in caught.value.render("ja") and "応答しませんでした" in caught.value.render("ja")


def test_a_page_slower_than_gradios_three_second_probe_is_waited_for():
    """gradio's own check sends one request with a 3 s timeout; a busy machine's first answer can take longer."""
    answered = threading.Event()

    class SlowFirstAnswer(BaseHTTPRequestHandler):
        def do_HEAD(self):
            if not answered.is_set():
                answered.wait(timeout=4.0)  # nothing sets it: the first answer comes after 4 s
                answered.set()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowFirstAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wait_until_served(f"http://127.0.0.1:{server.server_port}/", timeout=60)
        assert answered.is_set()
    finally:
        server.shutdown()


def test_a_proxy_in_the_way_is_named_instead_of_a_traceback(tmp_path, monkeypatch):
    """gradio asks its own page for its startup events through the environment's proxy: a proxy that is not
    there gave a page of httpx traceback."""
    from lora_studio.ui.app import launch_app

    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{_closed_port()}")
    port = _closed_port()
    with pytest.raises(UserError) as caught:
        launch_app(port=port, root=tmp_path, block=False)
    assert f"127.0.0.1:{port}" in str(caught.value) and "NO_PROXY" in str(caught.value)
    assert "プロキシ" in caught.value.render("ja")
    with socket.socket() as s:  # the studio closed: its port is free again
        s.bind(("127.0.0.1", port))
