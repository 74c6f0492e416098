"""What the studio's tabs show, without a browser: a run's state and log in both languages (and no samples claimed
that do not exist), the train form's messages, the preset labels, the lesson's texts, summaries and curves."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from lora_studio.config import load_config, preset_folder, save_config
from lora_studio.jobs import Jobs, RunStatus
from lora_studio.runlog import RunLog
from lora_studio.studio_paths import StudioPaths
from lora_studio.text import Text
from lora_studio.ui import run_view
from lora_studio.ui.common import Plot, Studio

TRAINER_LAST_LINE = "stopped: stopped; resume with train.resume=latest (samples in /x/outputs/run/samples)"


def _stopped(run_dir: Path, samples: list[Path]) -> RunStatus:
    return RunStatus(run_dir=run_dir, name=run_dir.name, state="stopped", step=7, total_steps=20,
                     message="stopped; resume with train.resume=latest", adapter=run_dir / "run.safetensors",
                     metrics=[{"step": 7, "loss": 0.25}], samples=samples, log_tail=f"step 7\n{TRAINER_LAST_LINE}")


def test_samples_show_as_an_epoch_by_prompt_grid(tmp_path):
    samples = [tmp_path / "samples" / f"step{step:06d}_{i}.png" for step in (12, 4, 8) for i in (1, 0)]
    metrics = [{"step": s, "epoch": (s - 1) // 4 + 1, "loss": 0.1} for s in range(1, 13)]
    status = RunStatus(run_dir=tmp_path, name="run", state="finished", step=12, total_steps=12, metrics=metrics,
                       samples=samples)
    grid = run_view.sample_grid(status, "en")
    assert grid["columns"] == 2  # one column per prompt
    assert [caption for _, caption in grid["value"]] == [
        "epoch 1 · step 4 · prompt 1", "epoch 1 · step 4 · prompt 2", "epoch 2 · step 8 · prompt 1",
        "epoch 2 · step 8 · prompt 2", "epoch 3 · step 12 · prompt 1", "epoch 3 · step 12 · prompt 2"]
    assert run_view.sample_grid(status, "ja")["value"][0][1] == "エポック 1 · ステップ 4 · プロンプト 1"


def test_a_stopped_run_says_press_resume_and_claims_no_missing_samples(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_config(load_config(preset_folder() / "quickstart.yaml", ["sample.every_n_steps=0"]), run_dir / "config.yaml")
    status = _stopped(run_dir, samples=[])
    en, ja = run_view.state_message(status, "en"), run_view.state_message(status, "ja")
    assert "press Resume" in en and "train.resume" not in en and "No sample images were made" in en
    assert "「選んだ実行を再開」" in ja and "train.resume" not in ja and "サンプル画像は作られていません" in ja
    assert "samples in" not in run_view.log_text(status)
    assert run_view.log_text(status).endswith("stopped; press Resume selected run in the Train tab")

    with_samples = _stopped(run_dir, samples=[run_dir / "samples" / "step-000005.png"])
    assert "No sample images" not in run_view.state_message(with_samples, "en")
    assert "(samples in /x/outputs/run/samples)" in run_view.log_text(with_samples)


def test_the_log_gives_studio_advice_not_command_lines(tmp_path):
    tail = ("$ /usr/bin/python -m accelerate.commands.launch --num_processes 1 -m lora_studio.train config.yaml\n"
            "8 images with repeats = 8 samples / batch 1 = 8 steps per epoch; 3 epochs = 24 steps\n"
            "finished: adapter saved to /x/outputs/run/run.safetensors\n"
            "try it: lora-studio generate --base tiny --lora /x/outputs/run/run.safetensors --prompt \"mychar\"\n"
            "error: could not write the checkpoint; then resume with train.resume=latest")
    status = RunStatus(run_dir=tmp_path, name="run", state="finished", step=24, total_steps=24, log_tail=tail,
                       samples=[tmp_path / "s.png"])
    for lang in ("en", "ja"):
        log = run_view.log_text(status, lang)
        assert "accelerate" not in log and "lora-studio generate" not in log and "train.resume" not in log
        assert "8 steps per epoch" in log  # the trainer's own lines stay
    assert "open the Generate tab" in run_view.log_text(status, "en")
    assert "「選んだ実行を再開」を押してください" in run_view.log_text(status, "ja")
    assert "生成のタブを開いて" in run_view.log_text(status, "ja")


def test_a_run_trained_from_the_command_line_shows_its_loss_and_state(tmp_path):
    status = RunStatus(run_dir=tmp_path, name="cli-run", state="finished", step=3, total_steps=3,
                       message="adapter saved to x", adapter=tmp_path / "cli-run.safetensors",
                       metrics=[{"step": s, "loss": 1 / s} for s in (1, 2, 3)], samples=[tmp_path / "s.png"])
    log = run_view.log_text(status, "en")
    assert "trained from the command line" in log
    assert "step 3/3 · loss 0.3333" in log and "step 1/3 · loss 1.0000" in log
    assert "finished: adapter cli-run.safetensors is ready" in log.splitlines()[-1]
    assert "損失 0.3333" in run_view.log_text(status, "ja")


def test_progress_states_and_the_runs_table_are_translated(tmp_path):
    status = _stopped(tmp_path / "run", samples=[])
    assert "loss 0.2500" in run_view.progress_html(status, "en")
    ja = run_view.progress_html(status, "ja")
    assert "損失 0.2500" in ja and "<b>停止</b>" in ja and "loss" not in ja.replace('class="ls-', "")
    failed = RunStatus(run_dir=tmp_path, name="x", state="failed", message="error: CUDA out of memory")
    assert run_view.state_message(failed, "ja") == "❌ 学習は失敗しました: error: CUDA out of memory"  # a log line
    oom = RunStatus(run_dir=tmp_path, name="x", state="failed", message=Text("train.oom", step=3))
    assert run_view.state_message(oom, "ja").startswith("❌ 学習は失敗しました: ステップ 3 で GPU のメモリが足りなく")
    starting = RunStatus(run_dir=tmp_path, name="x", state="starting", message=Text("train.loading_base"))
    assert run_view.state_message(starting, "ja") == "ベースモデルを読み込み中"

    paths = StudioPaths.at(tmp_path / "studio")
    (paths.outputs / "first").mkdir()
    (paths.outputs / "first" / "status.json").write_text('{"state": "finished", "step": 3, "total_steps": 3}')
    studio = Studio(paths=paths, jobs=Jobs(paths.outputs), lang=None)
    table, names, _ = run_view.runs_table(studio, "ja")
    assert list(table.columns) == ["実行", "状態", "ステップ", "アダプター"]
    assert table.values.tolist() == [["first", "完了", "3/3", ""]] and names == ["first"]
    assert list(run_view.runs_table(studio, "en")[0].columns) == ["run", "state", "step", "adapter"]


def test_a_failed_runs_message_keeps_its_key_through_status_json(tmp_path):
    run_dir = tmp_path / "outputs" / "oom"
    run_dir.mkdir(parents=True)
    RunLog(run_dir).fail(Text("train.oom", step=4))
    status = Jobs(tmp_path / "outputs").status("oom")
    assert status.message.startswith("the GPU ran out of memory at step 4")  # the API's JSON stays English
    assert run_view.state_message(status, "ja").startswith("❌ 学習は失敗しました: ステップ 4 で GPU のメモリが")


def test_train_form_messages_name_the_field_and_arithmetic_needs_no_base(tmp_path):
    from lora_studio.errors import ConfigError, UserError
    from lora_studio.ui.train_form import field_error

    error = ConfigError("config.too_small", key="train.learning_rate", value=-1, lo=0.0)
    assert field_error(error, "en") == "⚠️ **Learning rate** (train.learning_rate): -1 is too small; it must be at least 0.0"
    assert field_error(error, "ja") == "⚠️ **学習率** (train.learning_rate): -1 は小さすぎます。0.0 以上にしてください"

    with gr.Blocks():
        from lora_studio.ui.train_form import TrainForm

        form = TrainForm(StudioPaths.at(tmp_path), load_config(preset_folder() / "quickstart.yaml"))
    values = form.values(load_config(preset_folder() / "quickstart.yaml"))
    values[3], values[4] = "hub", ""  # "Hugging Face hub id" picked, the id not typed yet
    assert form.config(values, need_base=False).base == "tiny"
    with pytest.raises(UserError, match="base: type the hub id"):
        form.config(values)
    minimums = [c.minimum for c in form.components if isinstance(c, gr.Number)]
    assert set(minimums) == {None}  # gradio's own bound check would answer every form event in English


def test_presets_have_labels_and_keep_their_file_names_as_values(tmp_path):
    from lora_studio.ui.i18n import tr
    from lora_studio.ui.train_form import preset_choices

    choices = dict((value, label) for label, value in preset_choices(StudioPaths.at(tmp_path)))
    assert {"quickstart", "character-8gb", "character-best"} <= set(choices)
    assert tr("en", choices["character-8gb"].key) == "character, 8 GB GPU"
    assert tr("ja", choices["quickstart"].key) == "お試し（tiny・オフライン）"
    assert tr("en", choices["character-best"].key) == "character, best quality"


def test_the_quickstart_preset_makes_samples_during_the_run():
    cfg = load_config(preset_folder() / "quickstart.yaml")
    assert 0 < cfg.sample.every_n_steps < cfg.train.max_train_steps


def test_the_lesson_points_to_classify_my_photo_and_speaks_japanese(tmp_path):
    from lora_studio.lesson import LessonConfig
    from lora_studio.ui.lesson_tab import LessonView

    view = LessonView(LessonConfig(), "en")
    view.apply({"type": "stage", "stage": "save"})
    assert "lesson-predict" not in view.sections[-1] and "'Classify my photo' below" in view.sections[-1]

    ja = LessonView(LessonConfig(), "ja")
    ja.apply({"type": "stage", "stage": "save"})
    assert "lesson-predict" not in ja.sections[-1] and "「自分の写真を分類」" in ja.sections[-1]
    from lora_studio.lesson.lines import line
    from lora_studio.lesson.model import (
        LessonClassifier,
        build_tiny_base,
        format_summary,
        freeze_base,
        parameter_summary,
    )

    model = LessonClassifier(build_tiny_base(), ["cats", "dogs"], 64)
    freeze_base(model)
    counts = parameter_summary(model)
    # The lesson writes its summary in config.language, which the tab sets to the page's language.
    ja.apply({"type": "summary", "phase": 1, **counts, "text": format_summary(counts, line("title_phase1", "ja"), "ja")})
    assert "学習可能" in ja.summaries[-1] and "Trainable" not in ja.summaries[-1]
    for epoch in (1, 2):
        ja.apply({"type": "epoch", "epoch": epoch, "train_accuracy": 0.5, "val_accuracy": 0.6, "train_loss": 0.7,
                  "val_loss": 0.6})
    assert set(ja.curves("accuracy")["series"]) == {"訓練", "検証"}
    with gr.Blocks():
        plot = gr.LinePlot(x="epoch", y="accuracy", color="series")
    (titles,) = run_view.plot_titles("ja", [Plot(plot, "ls_accuracy", "ax_epoch", "ax_accuracy")])
    assert (titles.title, titles.x_title, titles.y_title) == ("正解率", "エポック", "正解率")


def test_adapters_are_download_links_without_a_hide_button(tmp_path):
    files = []
    for name in ("a", "b<c"):
        (tmp_path / name).mkdir()
        files.append(tmp_path / name / f"{name}.safetensors")
        files[-1].write_bytes(b"x" * 2048)
    page = run_view.adapters_html([str(f) for f in files], "ja")
    assert page.count("<a href=\"gradio_api/file=") == 2 and "<button" not in page and "×" not in page
    assert "b&lt;c / b&lt;c.safetensors" in page and "2.0 KiB" in page and "アダプター" in page
    assert run_view.adapters_html([], "en") == ""


def test_generate_draws_one_progress_bar_on_its_gallery(tmp_path, tiny_base_path):
    from lora_studio.ui.app import build_app

    demo = build_app(tmp_path)
    config = demo.get_config_file()
    (generate,) = [d for d in config["dependencies"] if d.get("api_name") == "generate"]
    gallery = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "gen-gallery")
    assert generate["show_progress_on"] == [gallery]


def test_sdxl_presets_are_offered_and_the_base_note_names_the_family(tmp_path):
    from lora_studio.ui.i18n import tr
    from lora_studio.ui.train_form import base_kind_of, compose_base, family_note, preset_choices

    choices = dict((value, label) for label, value in preset_choices(StudioPaths.at(tmp_path)))
    assert {"quickstart-sdxl", "character-sdxl-12gb", "character-sdxl-8gb"} <= set(choices)
    assert tr("en", choices["character-sdxl-12gb"].key) == "character SDXL, 12 GB GPU"
    assert tr("ja", choices["character-sdxl-8gb"].key) == "キャラクター SDXL（8 GB の GPU）"
    for preset in ("character-sdxl-12gb", "character-sdxl-8gb"):
        cfg = load_config(preset_folder() / f"{preset}.yaml")
        assert cfg.dataset.resolution == 1024 and cfg.train.gradient_checkpointing
        assert cfg.train.mixed_precision == "bf16" and not cfg.dataset.shuffle_tags  # embeddings cached
    assert load_config(preset_folder() / "character-sdxl-8gb.yaml").train.optimizer == "adamw8bit"
    assert base_kind_of("tiny-sdxl") == ("tiny", "tiny-sdxl") and compose_base("tiny", "tiny-sdxl") == "tiny-sdxl"
    assert compose_base("tiny", "") == "tiny"
    assert "**SDXL**" in family_note("Laxhar/noobai-XL-1.1", "en") and "1024 px" in family_note("Laxhar/noobai-XL-1.1", "en")
    assert "v 予測" in family_note("Laxhar/noobai-XL-Vpred-1.0", "ja")
    assert family_note("stable-diffusion-v1-5/stable-diffusion-v1-5", "en").startswith("Detected: **Stable Diffusion 1.x**")
    assert family_note("missing/file.safetensors", "en") == ""
