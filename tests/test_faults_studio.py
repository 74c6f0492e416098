"""The studio under hostile or heavy use, through its real HTTP API: one training at a time, no way to read or
write outside datasets/ and outputs/, nothing else served, pickle bases refused, and 20 concurrent generate
requests all answered with their own results. The login: test_ui_app.py."""

from __future__ import annotations

import json
import shutil
import threading
import zipfile
from pathlib import Path

import httpx
import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from PIL import Image  # noqa: E402
from studio_roots import DATASET, SECRET, end_training, files_outside, make_root, start  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_base_path):
    root = make_root(tmp_path_factory.mktemp("studio"))
    demo = start(root)
    yield demo.local_url, root
    demo.close()


@pytest.fixture(scope="module")
def client(studio):
    return Client(studio[0], verbose=False)


@pytest.fixture
def no_training_left(studio):
    yield
    end_training(studio[1])


# ---------------------------------------------------------------- one training at a time


def test_two_browsers_start_training_at_once_one_runs_the_other_is_told(studio, no_training_left):
    url, root = studio
    browsers = [Client(url, verbose=False), Client(url, verbose=False)]
    ready, answers = threading.Barrier(2), {}

    def press_start(i: int) -> None:
        settings = {"name": f"race-{i}", "base": "tiny", "dataset.path": DATASET, "dataset.resolution": 64,
                    "dataset.bucket_step": 32, "train.max_train_steps": 50}
        ready.wait()
        try:
            answers[i] = browsers[i].predict(settings=settings, preset="", api_name="/start_training")
        except AppError as e:
            answers[i] = e

    threads = [threading.Thread(target=press_start, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)  # a busy machine answers slowly; a hung start still ends the test
    started = [a for a in answers.values() if isinstance(a, dict)]
    told = [str(a) for a in answers.values() if isinstance(a, AppError)]
    assert len(started) == 1 and len(told) == 1, answers
    assert started[0]["state"] in ("starting", "running")
    assert "already running" in told[0] or "starting right now" in told[0]
    runs = [p.name for p in (root / "outputs").iterdir() if p.name.startswith("race-")]
    assert runs == [started[0]["name"]], "the refused start left no run folder"


# ---------------------------------------------------------------- reading and writing outside datasets/ and outputs/


def test_upload_names_cannot_write_outside_the_dataset_folder(client, studio, tmp_path):
    url, root = studio
    before = files_outside(root)
    picture = (root / "datasets" / DATASET / "mychar_01.png").read_bytes()
    archive = tmp_path / "hostile.zip"
    hostile = ["../../x.png", "../x.png", "/tmp/x.png", "sub/../../x.png", "..\\..\\x.png", "C:\\x.png", ".hidden.png"]
    with zipfile.ZipFile(archive, "w") as zf:
        for name in hostile:
            zf.writestr(name, picture)
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16  # a symbolic link entry pointing at /etc/passwd
        zf.writestr(link, "/etc/passwd")
        zf.writestr("ok.png", picture)
    message, summary = client.predict(uploads=[handle_file(str(archive))], dataset="uploads", trigger_word="",
                                      api_name="/upload_dataset")
    assert summary["saved"] == ["ok.png"]
    assert len(summary["rejected"]) == len(hostile) + 1
    for name in [*hostile, "link.png"]:
        assert name in message
    assert files_outside(root) == before
    assert sorted(p.name for p in (root / "datasets" / "uploads").iterdir()) == ["ok.png"]
    assert not list(Path("/tmp").glob("x.png"))

    # A hand-made request naming a server file instead of an upload: gradio refuses to take it.
    for path in ("/etc/passwd", str(root / "private" / "secret.png")):
        data = [[{"path": path, "orig_name": "x.png", "meta": {"_type": "gradio.FileData"}}], "stolen", "", "en"]
        event = httpx.post(f"{url}gradio_api/call/upload_dataset", json={"data": data}).json()["event_id"]
        answer = httpx.get(f"{url}gradio_api/call/upload_dataset/{event}", timeout=60).text
        assert "event: error" in answer and "root:" not in answer
    assert not (root / "datasets" / "stolen").exists() or not any((root / "datasets" / "stolen").iterdir())


def test_run_names_cannot_write_outside_outputs(client, studio, no_training_left):
    root = studio[1]
    before = files_outside(root)
    for name in ("../escape", str(root / "private" / "run")):
        with pytest.raises(AppError, match="name"):
            client.predict(settings={"name": name, "base": "tiny", "dataset.path": DATASET}, preset="",
                           api_name="/start_training")
        end_training(root)
    assert files_outside(root) == before


@pytest.fixture(scope="module")
def linked(studio) -> Path:
    """datasets/linked: one real picture, plus links to the private folder (a picture, a caption, a folder)."""
    root = studio[1]
    folder = root / "datasets" / "linked"
    folder.mkdir()
    shutil.copy(root / "datasets" / DATASET / "mychar_01.png", folder / "real.png")
    (folder / "real.txt").symlink_to(root / "private" / "secret.txt")
    (folder / "outside.png").symlink_to(root / "private" / "secret.png")
    (folder / "10_more").symlink_to(root / "private" / "10_more", target_is_directory=True)
    return folder


def test_links_in_a_dataset_are_never_served_or_written_through(studio, linked):
    from lora_studio import dataset_store as store

    url, root = studio
    for path in (linked / "outside.png", linked / "10_more" / "also-secret.png", linked / "real.txt"):
        response = httpx.get(f"{url}gradio_api/file={path}")
        assert response.status_code == 403, path
    store.write_tags(linked, "real.png", "new, tags")  # replaces the link itself, never the file it points to
    assert (root / "private" / "secret.txt").read_text() == f"{SECRET}, secret\n"
    with pytest.raises(Exception, match="symbolic link"):
        store.delete_picture(linked, "outside.png")
    assert (root / "private" / "secret.png").is_file()


def test_links_in_a_dataset_are_never_read(client, studio, linked, no_training_left):
    from lora_studio import dataset_store as store

    (linked / "real.txt").unlink(missing_ok=True)
    (linked / "real.txt").symlink_to(studio[1] / "private" / "secret.txt")
    view = store.describe(linked)  # what the Dataset tab's gallery and tag table show
    assert [view.relative(item) for item in view.items] == ["real.png"]
    assert SECRET not in json.dumps(view.tags) and SECRET not in store.read_tags(linked, "real.png")
    assert SECRET not in json.dumps(store.quick_tags(linked))  # the Generate tab's suggestions
    assert any("outside.png" in line for line in view.warnings)
    with pytest.raises(AppError, match="link"):  # the trainer would read the linked pictures
        client.predict(settings={"name": "linked-run", "base": "tiny", "dataset.path": "linked"}, preset="",
                       api_name="/start_training")


def test_nothing_outside_datasets_and_outputs_is_served(studio):
    url, root = studio
    (root / "outputs" / "served.txt").write_text("public")
    assert httpx.get(f"{url}gradio_api/file={root / 'outputs' / 'served.txt'}").text == "public"
    repo = Path(__file__).resolve().parent.parent
    attempts = [
        "gradio_api/file=/etc/passwd", "gradio_api/file=%2Fetc%2Fpasswd", "gradio_api/file=//etc/passwd",
        "gradio_api/file=../../../../../../etc/passwd", "gradio_api/file=..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "gradio_api/file=/proc/self/environ", "gradio_api/file=/proc/self/cmdline",
        f"gradio_api/file={root / 'private' / 'secret.txt'}", f"gradio_api/file={root / 'datasets' / '..' / 'private' / 'secret.txt'}",
        f"gradio_api/file={root / 'outputs' / '..' / 'private' / 'secret.txt'}",
        f"gradio_api/file={root / 'datasets'}%2F..%2Fprivate%2Fsecret.txt",
        f"gradio_api/file={repo / 'pyproject.toml'}", "gradio_api/file=pyproject.toml", "gradio_api/file=README.md",
        f"gradio_api/file={repo / 'lora_studio' / 'ui' / 'app.py'}", f"gradio_api/file={repo / 'configs' / 'quickstart.yaml'}",
        "gradio_api/file/etc/passwd", "file=/etc/passwd", "static/../../../../etc/passwd",
        "assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "svelte/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "gradio_api/proxy=http://127.0.0.1:1/", "gradio_api/file=http://127.0.0.1:1/etc/passwd",
    ]
    for attempt in attempts:
        response = httpx.get(url + attempt, timeout=30)
        assert response.status_code in (400, 403, 404), (attempt, response.status_code)
        assert SECRET not in response.text and "root:" not in response.text and "[project]" not in response.text


# ---------------------------------------------------------------- a dataset folder that is itself a link


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def linked_folder(studio) -> tuple[Path, Path]:
    """datasets/elsewhere -> private/elsewhere (a tagged picture), and datasets/alias -> datasets/<DATASET>."""
    root = studio[1]
    target = root / "private" / "elsewhere"
    target.mkdir()
    shutil.copy(root / "datasets" / DATASET / "mychar_01.png", target / "pic.png")
    (target / "pic.txt").write_text(f"{SECRET}, secret\n")
    (root / "datasets" / "elsewhere").symlink_to(target, target_is_directory=True)
    (root / "datasets" / "alias").symlink_to(root / "datasets" / DATASET, target_is_directory=True)
    return root / "datasets" / "elsewhere", target


def test_a_linked_dataset_folder_is_never_written_through_by_upload_or_zip(client, studio, linked_folder, tmp_path):
    root, (link, target) = studio[1], linked_folder
    before, outside = snapshot(target), files_outside(root)
    picture = root / "datasets" / DATASET / "mychar_02.png"
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(picture, "new.png")
        zf.writestr("pic.txt", "overwritten")
    for upload in (picture, archive):
        for name in ("elsewhere", "alias"):
            with pytest.raises(AppError, match="symbolic link"):
                client.predict(uploads=[handle_file(str(upload))], dataset=name, trigger_word="mine",
                               api_name="/upload_dataset")
    assert snapshot(target) == before and files_outside(root) == outside
    assert sorted(snapshot(root / "datasets" / DATASET)) == sorted(snapshot(link.parent / "alias"))


def test_a_linked_dataset_folder_is_never_read_changed_or_deleted_through(studio, linked_folder):
    """What the Dataset tab's gallery, save-tags, delete and bulk-tag buttons do with the dataset they show."""
    from lora_studio import dataset_store as store
    from lora_studio.dataset_import import import_uploads
    from lora_studio.studio_paths import StudioPaths
    from lora_studio.ui.i18n import StudioError

    root, (link, target) = studio[1], linked_folder
    before = snapshot(target)
    with pytest.raises(StudioError, match="symbolic link"):
        StudioPaths.at(root).dataset("elsewhere")  # where every button turns the dataset's name into a folder
    for action in (lambda: store.write_tags(link, "pic.png", "new, tags"), lambda: store.delete_picture(link, "pic.png"),
                   lambda: store.read_tags(link, "pic.png"), lambda: import_uploads(link, [])):
        with pytest.raises(StudioError, match="symbolic link"):
            action()
    assert store.add_tag_everywhere(link, "added") == 0 and store.remove_tag_everywhere(link, "secret") == 0
    view = store.describe(link)
    assert view.items == [] and SECRET not in json.dumps(view.tags) and "symbolic link" in str(view.warnings[0])
    assert SECRET not in json.dumps(store.quick_tags(link)) and store.trigger_of(link) == ""
    assert snapshot(target) == before


def test_a_linked_dataset_folder_is_never_trained_on(client, studio, linked_folder, no_training_left):
    root = studio[1]
    for path in ("elsewhere", "alias", "datasets/elsewhere", str(root / "datasets" / "alias"),
                 str(root / "datasets" / "alias" / ".." / "elsewhere")):
        with pytest.raises(AppError, match="symbolic link"):
            client.predict(settings={"name": "through-link", "base": "tiny", "dataset.path": path,
                                     "dataset.resolution": 64, "dataset.bucket_step": 32}, preset="",
                           api_name="/start_training")
    assert not (root / "outputs" / "through-link").exists()


# ---------------------------------------------------------------- browser settings: the CLI's rules and no more


def test_browser_settings_pass_the_same_validation_as_the_cli(client, studio, no_training_left):
    root = studio[1]
    good = {"base": "tiny", "dataset.path": DATASET, "dataset.resolution": 64, "dataset.bucket_step": 32}
    for bad, key in (({"name": ".hidden"}, "name"), ({"name": "b12", "dataset.bucket_step": 12}, "bucket_step"),
                     ({"name": "r100", "dataset.resolution": 100}, "resolution")):
        with pytest.raises(AppError, match=key):
            client.predict(settings={**good, **bad}, preset="", api_name="/start_training")
    assert not [p for p in (root / "outputs").iterdir() if p.name in (".hidden", "b12", "r100")]


def test_train_resume_from_a_browser_names_only_checkpoints_of_runs_in_outputs(client, studio, no_training_left):
    root = studio[1]
    planted = root / "private" / "run" / "checkpoints" / "step-000001"  # a checkpoint is read with torch.load
    planted.mkdir(parents=True)
    (planted / "trainer_state.json").write_text('{"step": 1, "epoch": 0, "batch_in_epoch": 1}')
    (root / "outputs" / "planted").symlink_to(root / "private" / "run", target_is_directory=True)
    settings = {"name": "resumer", "base": "tiny", "dataset.path": DATASET, "dataset.resolution": 64,
                "dataset.bucket_step": 32}
    for resume in (str(planted), "../private/run/checkpoints/step-000001", "planted/checkpoints/step-000001",
                   "outputs/planted/checkpoints/step-000001", "/etc", "outputs"):
        with pytest.raises(AppError, match="train.resume"):
            client.predict(settings={**settings, "train.resume": resume}, preset="", api_name="/start_training")
    assert not (root / "outputs" / "resumer").exists()


def test_a_run_that_allows_pickle_or_reads_a_linked_dataset_is_not_resumed_from_a_browser(client, studio,
                                                                                          linked_folder,
                                                                                          no_training_left):
    from lora_studio.config import DatasetConfig, TrainConfig, save_config

    root = studio[1]
    for name, settings, refusal in (("cli-pickled", {"allow_pickle": True}, "allow_pickle"),
                                    ("relinked", {"dataset": DatasetConfig(path=str(linked_folder[0]))}, "symbolic link")):
        run = root / "outputs" / name
        run.mkdir()
        save_config(TrainConfig(name=name, base="tiny", output_dir=str(run), **settings), run / "config.yaml")
        (run / "status.json").write_text('{"state": "stopped", "step": 1, "total_steps": 5}')
        with pytest.raises(AppError, match=refusal):
            client.predict(run=name, api_name="/resume_training")
        assert not (run / "train.log").exists(), "no trainer was started"


def test_a_zip_with_a_lying_or_unreadable_member_is_refused_by_name(client, studio, tmp_path):
    root = studio[1]
    picture = (root / "datasets" / DATASET / "mychar_01.png").read_bytes()
    archive = tmp_path / "lying.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("small-header.png", picture)
        zf.filelist[-1].file_size -= 10  # the central directory lies about the size
        zf.writestr("damaged.png", picture, compress_type=zipfile.ZIP_DEFLATED)
    data = bytearray(archive.read_bytes())
    offset = data.index(b"damaged.png") + len(b"damaged.png") + 20  # inside the compressed bytes of damaged.png
    data[offset:offset + 8] = bytes(8)
    archive.write_bytes(bytes(data))
    message, summary = client.predict(uploads=[handle_file(str(archive))], dataset="lying", trigger_word="",
                                      api_name="/upload_dataset")
    assert summary["saved"] == [] and "small-header.png" in message and "damaged.png" in message
    assert not (root / "datasets" / "lying").exists()


def test_the_lesson_cannot_be_told_to_download_a_server_file(client, studio):
    root = studio[1]
    before = files_outside(root)
    secret_zip = root / "private" / "secret.zip"
    with zipfile.ZipFile(secret_zip, "w") as zf:
        zf.writestr("train/a/x.txt", SECRET)
    for overrides in (f"data={{source: cats_and_dogs, url: '{secret_zip.as_uri()}', path: datasets/stolen}}",
                      f"data.source=cats_and_dogs\ndata.url={secret_zip}", "data.expected_size=null"):
        with pytest.raises(AppError, match="cannot be changed"):
            client.predict(preset="lesson-quick", overrides=overrides, api_name="/run_lesson")
    assert not (root / "datasets" / "stolen").exists() and files_outside(root) == before | {secret_zip}


# ---------------------------------------------------------------- pickle bases


def test_a_pickle_base_is_refused(client, studio):
    pickle_base = studio[1] / "outputs" / "model.ckpt"
    pickle_base.write_bytes(b"\x80\x04 not really a pickle")
    with pytest.raises(AppError, match="pickle"):
        client.predict(prompt="x", negative_prompt="", adapter_1=None, scale_1=1, adapter_2=None, scale_2=1,
                       adapter_3=None, scale_3=1, base=str(pickle_base), seed=1, steps=1, guidance_scale=1,
                       sampler="euler", width=0, height=0, batch_size=1, api_name="/generate")


def test_a_browser_cannot_allow_pickle(client, studio, no_training_left):
    pickle_base = studio[1] / "outputs" / "model.ckpt"
    pickle_base.write_bytes(b"\x80\x04 not really a pickle")
    with pytest.raises(AppError, match="allow_pickle"):
        client.predict(settings={"name": "pickled", "base": str(pickle_base), "allow_pickle": True,
                                 "dataset.path": DATASET}, preset="", api_name="/start_training")


# ---------------------------------------------------------------- load


def test_twenty_concurrent_generate_requests_are_all_answered_with_their_own_results(studio):
    url, root = studio
    browsers = [Client(url, verbose=False) for _ in range(4)]
    requests = {}
    for i in range(20):
        seed, prompt = 1000 + i, f"mychar, request {i}"
        requests[i] = (seed, prompt, browsers[i % 4].submit(
            prompt=prompt, negative_prompt="lowres", adapter_1=None, scale_1=1, adapter_2=None, scale_2=1,
            adapter_3=None, scale_3=1, base="tiny", seed=seed, steps=4, guidance_scale=5, sampler="euler",
            width=0, height=0, batch_size=1, api_name="/generate"))
    # The app stays responsive: another browser's quick request is answered while the generate queue drains.
    assert isinstance(Client(url, verbose=False).submit(api_name="/list_runs").result(timeout=120), list)
    assert not all(job.done() for _, _, job in requests.values()), "the quick request waited for all generates"

    files = set()
    for i, (seed, prompt, job) in requests.items():
        gallery, pngs, params, text = job.result(timeout=600)
        assert f"Seed: {seed}," in params and params.startswith(prompt), (i, params)
        assert len(gallery) == 1 and len(pngs) == 1
        with Image.open(pngs[0]) as image:  # the file this request got is the one it asked for
            assert f"Seed: {seed}," in image.info["parameters"] and image.info["parameters"].startswith(prompt)
        files.add(Path(gallery[0]["image"]).name)
    assert len(files) == 20
    assert len(list((root / "outputs" / "generated").glob("*.png"))) >= 20
