"""The studio's launch (ui/app.py): it waits for its own page as long as a busy machine needs, names the address
and what to check when the page never answers, and with --auth guards every endpoint and shows no data before the
login."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from gradio_client import Client
from studio_roots import DATASET, make_root, start

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


# ---------------------------------------------------------------- login


@pytest.fixture(scope="module")
def auth_studio(tmp_path_factory, tiny_base_path):
    root = make_root(tmp_path_factory.mktemp("auth"))
    demo = start(root, auth="ann:secret")
    yield demo.local_url, root
    demo.close()


@pytest.mark.slow
def test_with_auth_every_endpoint_needs_the_login(auth_studio):
    url, root = auth_studio
    with pytest.raises(Exception, match="(?i)credentials|login"):
        Client(url, verbose=False)
    picture = f"gradio_api/file={root / 'datasets' / DATASET / 'mychar_01.png'}"
    refused = {
        "GET": ["config", "gradio_api/info", "gradio_api/openapi.json", picture, "gradio_api/queue/status",
                "gradio_api/call/list_runs/1", "gradio_api/login_check", "monitoring", "gradio_api/run-history/records",
                "gradio_api/upload_progress?upload_id=1"],
        "POST": ["gradio_api/call/list_runs", "gradio_api/call/start_training", "gradio_api/call/generate",
                 "gradio_api/run/list_runs", "gradio_api/api/list_runs", "gradio_api/queue/join", "gradio_api/upload",
                 "gradio_api/component_server"],
    }  # gradio leaves /gradio_api/cancel open: it needs the random session and event ids of a running request
    for method, paths in refused.items():
        for path in paths:
            response = httpx.request(method, url + path, json={"data": []}, timeout=30)
            assert response.status_code in (401, 403), (method, path, response.status_code)

    logged_in = Client(url, auth=("ann", "secret"), verbose=False)
    assert logged_in.predict(api_name="/list_runs") == []
    cookies = httpx.post(f"{url}login", data={"username": "ann", "password": "secret"}).cookies
    assert httpx.get(url + picture, cookies=cookies).status_code == 200


@pytest.mark.slow
def test_with_auth_the_login_page_shows_no_data(auth_studio):
    url, root = auth_studio
    for path in ("", "gradio_api/runs", "openapi.json", "manifest.json", "gradio_api/token", "gradio_api/user"):
        page = httpx.get(url + path, timeout=30).text  # public: the login page and what it needs
        assert DATASET not in page and str(root) not in page, path
