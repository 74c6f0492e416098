"""The lesson's data side: download (local server only), unzip, folder layout, bad files, split, shapes, texts."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from lora_studio.errors import DatasetError
from lora_studio.lesson.data import load_splits
from lora_studio.lesson.download import download_file, ensure_downloaded_dataset, extract_zip
from lora_studio.lesson.shapes import CLASSES, make_shapes_dataset
from lora_studio.lesson.texts import LANGUAGES, STAGES, STEP_NAMES, explain, explain_stage


def _zip_of(folder: Path, top: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return buf.getvalue()


@pytest.fixture(scope="module")
def certificate() -> Path:
    """tests/tls: a self-signed certificate for 127.0.0.1 only (made with `openssl req -x509 ... -days 36500`),
    so the downloader, which speaks https only, is tested over real TLS; trusted through SSL_CERT_FILE."""
    return Path(__file__).parent / "tls"


@pytest.fixture(autouse=True)
def _trust(certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate / "cert.pem"))


class _Server:
    """Serves one payload over https on 127.0.0.1 with HTTP Range support; can cut the first response short."""

    def __init__(self, payload: bytes, certificate: Path, cut_after: int | None = None) -> None:
        import ssl

        self.payload, self.cut_after, self.ranges = payload, cut_after, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                header = self.headers.get("Range")
                server.ranges.append(header)
                start = int(header.split("=")[1].rstrip("-")) if header else 0
                body = server.payload[start:]
                self.send_response(206 if header else 200)
                if header:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body, server.cut_after = body[:server.cut_after], None
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
        self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/cats_and_dogs_filtered.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def shapes(tmp_path) -> Path:
    return make_shapes_dataset(tmp_path / "shapes", per_class=10, size=32, seed=3)


@pytest.fixture
def archive(shapes) -> bytes:
    return _zip_of(shapes, "cats_and_dogs_filtered")


def test_broken_download_resumes_with_a_range_request_and_unzips(tmp_path, archive, certificate):
    server = _Server(archive, certificate, cut_after=1000)
    try:
        dest = tmp_path / "datasets" / "cats_and_dogs_filtered.zip"
        with pytest.raises(DatasetError, match="run again to resume"):
            download_file(server.url, dest, expected_size=len(archive), on_progress=lambda done, total: None)
        part = dest.with_name(dest.name + ".part")
        assert part.stat().st_size == 1000 and not dest.exists()
        folder = ensure_downloaded_dataset(tmp_path / "datasets" / "cats_and_dogs_filtered", server.url, len(archive))
    finally:
        server.close()
    assert server.ranges == [None, "bytes=1000-"]
    assert dest.read_bytes() == archive and not part.exists()
    assert sorted(p.name for p in (folder / "train").iterdir()) == list(CLASSES)
    splits = load_splits(folder, image_size=32)
    assert len(splits.train) == 20 and splits.classes == list(CLASSES)


def test_a_local_archive_path_is_unpacked_other_schemes_are_refused(tmp_path, archive):
    source = tmp_path / "source.zip"
    source.write_bytes(archive)
    folder = ensure_downloaded_dataset(tmp_path / "datasets" / "cats_and_dogs_filtered", str(source), len(archive))
    assert sorted(p.name for p in (folder / "train").iterdir()) == list(CLASSES)
    secret = tmp_path / "secret.zip"
    secret.write_bytes(archive)
    for url in (secret.as_uri(), "http://127.0.0.1:9/cats_and_dogs_filtered.zip", "ftp://127.0.0.1/x.zip",
                "FILE:///etc/passwd", "data:application/zip;base64,UEsFBg=="):
        with pytest.raises(DatasetError, match="only https://"):
            ensure_downloaded_dataset(tmp_path / "datasets" / "other", url, None)
        with pytest.raises(DatasetError, match="only https://"):
            download_file(url, tmp_path / "datasets" / "other.zip", on_progress=lambda *a: None)
    assert not (tmp_path / "datasets" / "other").exists() and not (tmp_path / "datasets" / "other.zip").exists()
    with pytest.raises(DatasetError, match="is not a file"):
        ensure_downloaded_dataset(tmp_path / "datasets" / "other", str(tmp_path / "missing.zip"), None)


def test_download_with_the_default_progress_bar(tmp_path, archive, certificate):
    server = _Server(archive, certificate)
    try:
        dest = download_file(server.url, tmp_path / "out" / "a.zip", expected_size=len(archive))
    finally:
        server.close()
    assert dest.read_bytes() == archive


def test_wrong_size_is_refused_before_and_after_the_download(tmp_path, archive, certificate):
    server = _Server(archive, certificate)
    try:
        with pytest.raises(DatasetError, match=f"{len(archive):,} bytes but 68,606,236 were expected"):
            download_file(server.url, tmp_path / "a.zip", expected_size=68_606_236, on_progress=lambda *a: None)
    finally:
        server.close()
    (tmp_path / "cats_and_dogs_filtered.zip").write_bytes(archive[:-10])
    with pytest.raises(DatasetError, match="delete it and run again"):
        ensure_downloaded_dataset(tmp_path / "cats_and_dogs_filtered", "https://127.0.0.1:9/cats_and_dogs_filtered.zip",
                                  len(archive))


def test_offline_download_says_what_to_do(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"https://127.0.0.1:{port}/cats_and_dogs_filtered.zip"
    with pytest.raises(DatasetError) as info:
        ensure_downloaded_dataset(tmp_path / "cats_and_dogs_filtered", url, 123)
    message = str(info.value)
    assert url in message and "data.source=generated" in message and "data.source=folder" in message
    assert not (tmp_path / "cats_and_dogs_filtered").exists()


def test_damaged_zip_is_caught_by_its_checksums(tmp_path, archive):
    damaged = bytearray(archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        info = zf.infolist()[0]
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    damaged[offset] ^= 0xFF
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(damaged))
    with pytest.raises(DatasetError, match="fails its checksum"):
        extract_zip(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unsafe_member_paths_are_refused(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("top/../../escape.txt", "x")
    with pytest.raises(DatasetError, match="unsafe path"):
        extract_zip(path, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_unreadable_files_are_named_and_skipped(shapes, caplog):
    (shapes / "train" / "circles" / "notes.txt").write_text("not a picture")
    good = next((shapes / "train" / "stripes").iterdir()).read_bytes()
    (shapes / "train" / "stripes" / "broken.png").write_bytes(good[: len(good) // 2])
    (shapes / "validation" / "circles" / ".DS_Store").write_bytes(b"\0")
    splits = load_splits(shapes, image_size=32)
    assert len(splits.train) == 20
    assert sorted(Path(line.split(":")[0]).name for line in splits.skipped) == ["broken.png", "notes.txt"]
    assert "notes.txt" in caplog.text and "broken.png" in caplog.text


def test_validation_is_split_per_class_with_a_seed(shapes):
    a = load_splits(shapes, image_size=32, test_fraction=0.2, seed=1)
    b = load_splits(shapes, image_size=32, test_fraction=0.2, seed=1)
    c = load_splits(shapes, image_size=32, test_fraction=0.2, seed=2)
    assert a.test.files == b.test.files and a.test.files != c.test.files
    assert len(a.test) == 4 and len(a.validation) == 16  # 10 per class -> 2 test images each
    assert sorted(a.test.labels.tolist()) == [0, 0, 1, 1]
    assert not set(a.test.files) & set(a.validation.files)
    assert a.train.images.shape == (20, 3, 32, 32) and a.train.images.dtype.is_floating_point is False


def test_layout_errors_name_the_folder(tmp_path, shapes):
    with pytest.raises(DatasetError, match="does not exist"):
        load_splits(tmp_path / "nowhere", image_size=32)
    (shapes / "validation" / "stripes").rename(shapes / "validation" / "lines")
    with pytest.raises(DatasetError, match="stripes"):
        load_splits(shapes, image_size=32)


def test_shapes_are_seeded_and_in_split_class_layout(tmp_path):
    a = make_shapes_dataset(tmp_path / "a", per_class=4, size=48, seed=7)
    b = make_shapes_dataset(tmp_path / "b", per_class=4, size=48, seed=7)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 16 and files == sorted(p.relative_to(b) for p in b.rglob("*.png"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert Image.open(a / files[0]).size == (48, 48)


def test_every_explanation_exists_in_both_languages():
    for step in STEP_NAMES:
        assert len(explain(step, "en")) > 80
        assert any("\u3040" <= ch <= "\u30ff" for ch in explain(step, "ja")), step  # kana: really Japanese
    for stage in STAGES:
        assert explain_stage(stage, "ja")
    assert "BatchNorm" in explain("batchnorm", "en") and "BatchNorm" in explain("batchnorm", "ja")
    with pytest.raises(KeyError, match="known steps"):
        explain("nope", "en")
    with pytest.raises(KeyError, match="choose one of"):
        explain("intro", "fr")


def test_offline_message_names_the_dataset_folder_itself(tmp_path):
    """data.path=/tmp/cd-dl: the archive lands in /tmp, but it is /tmp/cd-dl that must hold train/ and validation/."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatasetError) as info:
        ensure_downloaded_dataset(tmp_path / "cd-dl", f"https://127.0.0.1:{port}/cats_and_dogs_filtered.zip", 123)
    message = str(info.value)
    assert f"'{tmp_path / 'cd-dl'}' itself holds train/ and validation/" in message
    assert f"save it as '{tmp_path / 'cats_and_dogs_filtered.zip'}'" in message
    assert f"'{tmp_path}' holds" not in message


def test_skipped_entries_name_the_path_once_with_a_reason(shapes):
    (shapes / "train" / "circles" / "notes.txt").write_text("not a picture")
    good = next((shapes / "train" / "stripes").iterdir()).read_bytes()
    (shapes / "train" / "stripes" / "broken.png").write_bytes(good[: len(good) // 2])
    entries = sorted(load_splits(shapes, image_size=32).skipped)
    assert [(e.values["path"], e.values["reason"].key) for e in entries] == [
        (str(shapes / "train" / "circles" / "notes.txt"), "lesson.skip_not_image"),
        (str(shapes / "train" / "stripes" / "broken.png"), "lesson.skip_damaged")]
    assert entries[0] == f"{shapes / 'train' / 'circles' / 'notes.txt'}: not an image file"  # str() stays English
    assert entries[0].render("ja").endswith("画像ファイルではありません")
    assert all(e.count(str(shapes)) == 1 for e in entries)


def test_studio_and_cli_each_get_the_right_last_hint():
    for lang in LANGUAGES:
        cli, studio = explain_stage("save", lang), explain_stage("save", lang, place="studio")
        assert "lesson-predict" in cli[-1] and "lesson-predict" not in " ".join(studio)
        assert cli[:-1] == studio[:-1]
    assert "'Classify my photo' below" in explain("predict", "en", place="studio")
    assert "「自分の写真を分類」" in explain("predict", "ja", place="studio")
    with pytest.raises(KeyError, match="choose one of"):
        explain("predict", "en", place="web")
