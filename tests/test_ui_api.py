"""The studio scripted through gradio_client, as the README shows: upload a tagged dataset, train a few steps on
the tiny base, find the adapter, generate with it; and the refusals a user can meet on the way."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import httpx
import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from lora_studio.ui.app import parse_auth  # noqa: E402

pytestmark = pytest.mark.slow
FINAL = ("finished", "stopped", "failed")


@pytest.fixture(scope="module")
def studio(tmp_path_factory, start_studio):
    root = tmp_path_factory.mktemp("studio")
    return start_studio(root).local_url, root


@pytest.fixture(scope="module")
def client(studio):
    return Client(studio[0], verbose=False)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> list[Path]:
    from lora_studio.sample_data import make_sample_dataset

    folder = make_sample_dataset(tmp_path_factory.mktemp("pictures"), count=4, size=96)
    return sorted(folder.glob("*.png")) + sorted(folder.glob("mychar_*.txt"))


def wait_for(client, done, timeout: float = 300, run: str = "api-run") -> dict:
    deadline = time.monotonic() + timeout
    while not done(status := client.predict(run=run, api_name="/training_status")):
        assert time.monotonic() < deadline, status["log_tail"]
        time.sleep(0.5)
    return status


def stop_after(client, min_step: int) -> dict:
    """Stop the running training once it reached `min_step`; the stopped status once its process is gone."""
    wait_for(client, lambda s: s["step"] >= min_step or s["state"] in FINAL)
    assert "stop requested" in client.predict(api_name="/stop_training")["message"]
    return wait_for(client, lambda s: s["state"] in FINAL and not s["alive"])


def test_upload_train_and_generate(client, studio, pictures):
    message, summary = client.predict(uploads=[handle_file(str(p)) for p in pictures], dataset="mychar-set",
                                      trigger_word="mychar", api_name="/upload_dataset")
    assert "Saved 4 picture(s) and 4 tag file(s)" in message and summary["rejected"] == []
    root = studio[1]
    assert (root / "datasets" / "mychar-set" / "mychar_01.txt").read_text().startswith("mychar, ")

    # a long run, stopped early, resumed from its checkpoint, stopped again: the adapter exists each time
    settings = {"name": "api-run", "base": "tiny", "dataset": {"path": "mychar-set", "resolution": 64,
                                                               "bucket_step": 32},
                "train.max_train_steps": 500, "lora.rank": 2, "sample.steps": 2}
    started = client.predict(settings=settings, preset="quickstart", api_name="/start_training")
    assert started["name"] == "api-run" and started["state"] in ("starting", "running")
    with pytest.raises(AppError, match="already running"):
        client.predict(settings=dict(settings, name="second"), preset="quickstart", api_name="/start_training")
    first = stop_after(client, min_step=2)
    assert first["state"] == "stopped" and first["adapter"], first["log_tail"]
    assert list((root / "outputs" / "api-run" / "checkpoints").iterdir())

    resumed = client.predict(run="api-run", api_name="/resume_training")
    assert resumed["state"] in ("starting", "running")
    second = stop_after(client, min_step=first["step"] + 1)
    assert second["state"] == "stopped" and second["step"] > first["step"], second["log_tail"]
    assert [m["step"] for m in second["metrics"]] == list(range(1, second["step"] + 1))
    assert "resumed from" in second["log_tail"] or "resumed from" in (root / "outputs/api-run/train.log").read_text()

    # the same script run twice: the second run is api-run-2, and its status says so
    again = client.predict(settings=dict(settings, **{"train.max_train_steps": 1}), preset="quickstart",
                           api_name="/start_training")
    assert again["name"] == "api-run-2"
    assert wait_for(client, lambda s: s["state"] in FINAL, run="api-run-2")["state"] == "finished"

    runs = client.predict(api_name="/list_runs")
    assert [(r["name"], Path(r["adapter"]).name) for r in runs] == [("api-run-2", "api-run-2.safetensors"),
                                                                   ("api-run", "api-run.safetensors")]

    gallery, files, params, text = client.predict(
        prompt="mychar, 1girl", negative_prompt="lowres", adapter_1=runs[1]["adapter"], scale_1=0.8, adapter_2=None,
        scale_2=1, adapter_3=None, scale_3=1, base="tiny", seed=7, steps=2, guidance_scale=5, sampler="euler",
        width=0, height=0, batch_size=1, api_name="/generate")
    assert len(gallery) == 1 and Path(gallery[0]["image"]).is_file()
    assert "Seed: 7" in params and "Lora hashes" in params and "api-run" in params
    assert "random offline test model" in text
    assert len(list((root / "outputs" / "generated").glob("*.png"))) == 1


def test_refusals_are_readable(client, studio, tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.png", b"x")
        zf.writestr("notes.pdf", b"%PDF")
    message, summary = client.predict(uploads=[handle_file(str(archive))], dataset="refusals", trigger_word="",
                                      api_name="/upload_dataset")
    assert "Nothing was saved" in message and "../escape.png" in message and "notes.pdf" in message
    assert not (studio[1] / "datasets" / "escape.png").exists()
    assert not (studio[1] / "datasets" / "refusals").exists()  # no empty dataset left to show up in the lists
    (studio[1] / "datasets" / "refusals").mkdir()

    with pytest.raises(AppError, match="not allowed"):
        client.predict(uploads=[handle_file(str(archive))], dataset="../up", trigger_word="", api_name="/upload_dataset")
    with pytest.raises(AppError, match="pictures first"):
        client.predict(uploads=[], dataset="refusals", trigger_word="", api_name="/upload_dataset")
    with pytest.raises(AppError, match="no usable images"):
        client.predict(settings={"name": "empty", "base": "tiny", "dataset.path": "refusals"}, preset="",
                       api_name="/start_training")
    with pytest.raises(AppError, match="train.learning_rate"):
        client.predict(settings={"dataset.path": "refusals", "train.learning_rate": "fast"}, preset="",
                       api_name="/start_training")
    with pytest.raises(AppError, match="not a .safetensors file under"):
        client.predict(prompt="x", negative_prompt="", adapter_1="/etc/passwd", scale_1=1, adapter_2=None, scale_2=1,
                       adapter_3=None, scale_3=1, base="tiny", seed=1, steps=1, guidance_scale=1, sampler="euler",
                       width=0, height=0, batch_size=1, api_name="/generate")


def test_core_errors_come_back_in_japanese_with_lang_ja(client, studio):
    """A bad setting is refused by the core library (config.py); with lang=ja its whole message is Japanese."""
    (studio[1] / "datasets" / "ja-refusals").mkdir(parents=True, exist_ok=True)
    settings = {"dataset.path": "ja-refusals", "train.learning_rate": "fast"}
    with pytest.raises(AppError) as english:
        client.predict(settings=settings, preset="", api_name="/start_training")
    assert "train.learning_rate: expected a number, got 'fast'" in str(english.value)
    with pytest.raises(AppError) as japanese:
        client.predict(settings=settings, preset="", lang="ja", api_name="/start_training")
    assert "train.learning_rate: 数を入れてください（入っていた値: 'fast'）" in str(japanese.value)
    assert "expected" not in str(japanese.value) and "English" not in str(japanese.value)
    with pytest.raises(AppError) as missing:
        client.predict(run="no-such-run", lang="ja", api_name="/resume_training")
    assert "実行 'no-such-run' が" in str(missing.value) and "見つかりません" in str(missing.value)


def test_only_datasets_and_outputs_are_served(studio):
    url, root = studio
    (root / "secret.txt").write_text("private")
    (root / "datasets" / "pub").mkdir(parents=True, exist_ok=True)
    (root / "datasets" / "pub" / "a.txt").write_text("public")
    assert httpx.get(f"{url}gradio_api/file={root / 'datasets' / 'pub' / 'a.txt'}").text == "public"
    for path in (root / "secret.txt", Path("/etc/passwd"), root / "datasets" / ".." / "secret.txt"):
        response = httpx.get(f"{url}gradio_api/file={path}")
        assert response.status_code in (403, 404), path
        assert "private" not in response.text and "root:" not in response.text


def test_login_is_required_with_auth(tmp_path, start_studio):
    assert parse_auth("ann:secret") == ("ann", "secret")
    with pytest.raises(Exception, match="user:password"):
        parse_auth("annsecret")
    demo = start_studio(tmp_path, auth=("ann", "secret"))
    try:
        assert httpx.get(f"{demo.local_url}config").status_code == 401
        assert httpx.post(f"{demo.local_url}login", data={"username": "ann", "password": "secret"}).status_code == 200
    finally:
        demo.close()


def test_quick_lesson_and_classify_my_photo(client, studio, pictures):
    progress, explanations, summaries, accuracy, loss, figures, result, run_dir = client.predict(
        preset="lesson-quick", overrides="transfer.epochs=1\nfinetune.epochs=1\ndata.generated_per_class=8",
        api_name="/run_lesson")
    assert "Done in" in progress and "Test accuracy" in result
    assert "### 3. Phase 1: transfer learning" in explanations and "tiny" in explanations
    assert "Trainable params" in summaries and summaries.count("Phase") == 2
    assert [row[0] for row in accuracy["data"]] == [1, 1, 2, 2]  # training and validation, both phases
    assert sorted(Path(f["image"]).name for f in figures) == ["curves.png", "predictions.png"]
    assert Path(run_dir) == studio[1] / "outputs" / "lessons" / "lesson-quick"

    answer = client.predict(photo_path=handle_file(str(pictures[0])), run=run_dir, api_name="/classify_photo")
    assert {c["label"] for c in answer["confidences"]} == {"circles", "stripes"}
    assert abs(sum(c["confidence"] for c in answer["confidences"]) - 1) < 1e-5
    with pytest.raises(AppError, match="cannot be changed"):
        client.predict(preset="lesson-quick", overrides="data.url=http://example.com/x.zip", api_name="/run_lesson")
    with pytest.raises(AppError, match="not a lesson run folder"):
        client.predict(photo_path=handle_file(str(pictures[0])), run="/etc", api_name="/classify_photo")


def test_sdxl_quickstart_trains_and_generates_through_the_api(client, studio, pictures):
    client.predict(uploads=[handle_file(str(p)) for p in pictures], dataset="sdxl-set", trigger_word="mychar",
                   api_name="/upload_dataset")
    settings = {"name": "sdxl-run", "dataset.path": "sdxl-set", "dataset.resolution": 64,
                "train.max_train_steps": 2, "sample.every_n_steps": 0, "sample.steps": 2}
    started = client.predict(settings=settings, preset="quickstart-sdxl", api_name="/start_training")
    assert started["name"] == "sdxl-run"
    deadline = time.monotonic() + 300
    while (status := client.predict(run="sdxl-run", api_name="/training_status"))["state"] not in FINAL \
            or status["alive"]:
        assert time.monotonic() < deadline, status["log_tail"]
        time.sleep(0.5)
    assert status["state"] == "finished", status["log_tail"]
    adapter = next(r["adapter"] for r in client.predict(api_name="/list_runs") if r["name"] == "sdxl-run")
    root = studio[1]
    assert "base family: SDXL" in (root / "outputs" / "sdxl-run" / "train.log").read_text()
    gallery, files, params, text = client.predict(
        prompt="mychar, 1girl", negative_prompt="", adapter_1=adapter, scale_1=1.0, adapter_2=None, scale_2=1,
        adapter_3=None, scale_3=1, base="tiny-sdxl", seed=3, steps=2, guidance_scale=5, sampler="dpmpp_2m_karras",
        width=0, height=0, batch_size=1, api_name="/generate")
    assert len(gallery) == 1 and "Model: tiny-sdxl" in params and "Size: 64x64" in params and "sdxl-run" in params
    assert "SDXL-shaped" in text
