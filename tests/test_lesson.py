"""The lesson's model and training: frozen parts really stay frozen, the quick config learns, save/load/predict agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from lora_studio.cli import main
from lora_studio.config import load_config
from lora_studio.lesson.config import LessonConfig
from lora_studio.lesson.data import load_splits
from lora_studio.lesson.model import (
    LessonClassifier,
    augment,
    base_layers,
    build_tiny_base,
    freeze_base,
    parameter_summary,
    unfreeze_last_layers,
)
from lora_studio.lesson.predict import load_lesson_model, predict
from lora_studio.lesson.shapes import make_shapes_dataset
from lora_studio.lesson.train import run_phase

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
CPU = torch.device("cpu")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The tiny model is overhead-bound: one thread is faster than two on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_splits(tmp_path_factory):
    folder = make_shapes_dataset(tmp_path_factory.mktemp("shapes") / "data", per_class=8, size=32, seed=1)
    return load_splits(folder, image_size=32, seed=1)


def _config(**phase_epochs) -> LessonConfig:
    return load_config(None, ["base=tiny", "data.source=generated", "data.batch_size=8", "transfer.learning_rate=1e-2",
                              "finetune.learning_rate=1e-2", *[f"{k}={v}" for k, v in phase_epochs.items()]],
                       cls=LessonConfig)


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _batchnorm_buffers(state: dict) -> dict:
    return {k: v for k, v in state.items() if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def test_phase1_trains_only_the_head(small_splits):
    model = LessonClassifier(build_tiny_base(), small_splits.classes, 32)
    base_before, head_before = _snapshot(model.base), _snapshot(model.head)
    assert _batchnorm_buffers(base_before)
    records = run_phase(model, small_splits, 1, _config(**{"transfer.epochs": 1}), device=CPU)
    assert [r["epoch"] for r in records] == [1]
    base_after = model.base.state_dict()
    for name, value in base_before.items():  # parameters and BatchNorm statistics alike
        assert torch.equal(value, base_after[name]), name
    assert not torch.equal(head_before["weight"], model.head.weight)
    model.train()
    assert model.head.training and not any(m.training for m in model.base.modules())


def test_phase2_unfreezes_exactly_the_last_quarter_of_layers(small_splits):
    model = LessonClassifier(build_tiny_base(), small_splits.classes, 32)
    before = _snapshot(model.base)
    run_phase(model, small_splits, 2, _config(**{"finetune.epochs": 1, "finetune.unfreeze_fraction": 0.25}), device=CPU,
              first_epoch=11)
    layers = base_layers(model.base)
    trainable = [name for name, m in layers if any(p.requires_grad for p in m.parameters(recurse=False))]
    assert len(layers) == 104 and len(trainable) == 26
    assert trainable == [name for name, _ in layers[-26:]]
    assert trainable[0] == "layer.12.expand_1x1.convolution" and trainable[-1] == "conv_1x1.normalization"
    after = model.base.state_dict()
    frozen = {f"{name}.{p}" for name, m in layers[:-26] for p, _ in m.named_parameters(recurse=False)}
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    for name, value in _batchnorm_buffers(before).items():
        assert torch.equal(value, after[name]), name
    changed = [f"{name}.{p}" for name, m in layers[-26:] for p, _ in m.named_parameters(recurse=False)
               if not torch.equal(before[f"{name}.{p}"], after[f"{name}.{p}"])]
    assert "conv_1x1.convolution.weight" in changed


def test_real_mobilenet_v2_parameter_arithmetic_matches_the_tutorial():
    """Without weights: the default config is mobilenet_v2_1.0_224, the base the tutorial uses.

    Keras counts BatchNorm moving mean/variance as (non-trainable) params; PyTorch keeps them as buffers.
    Parameters 2,223,872 + statistics 34,112 = 2,257,984, exactly the tutorial's base total.
    After unfreezing the last 25 % (26 of 104 conv/BN layers: blocks 13-16 and the final 1x1 conv) we train
    1,681,344 base parameters; the tutorial trained 1,626,048. The difference, 55,296 = 96 x 576, is block 13's
    expand convolution: the tutorial's cut (layer 117 of Keras' 154) falls between that convolution and its
    BatchNorm. That is why the default fraction is 0.24 (see the next test), which cuts exactly there.
    """
    from transformers import MobileNetV2Config, MobileNetV2Model

    model = LessonClassifier(MobileNetV2Model(MobileNetV2Config()), ["cats", "dogs"], 224)
    freeze_base(model)
    s = parameter_summary(model)
    assert (s["base"], s["batchnorm_statistics"], s["head"]) == (2_223_872, 34_112, 2_562)
    assert s["base"] + s["batchnorm_statistics"] == 2_257_984
    assert s["trainable"] == 2_562 and s["layers"] == 104 and s["trainable_layers"] == 0
    unfreeze_last_layers(model, 0.25)
    s = parameter_summary(model)
    assert s["trainable_layers"] == 26
    assert s["trainable"] - s["head"] == 1_681_344 == 1_626_048 + 96 * 576


def test_default_config_reproduces_the_tutorials_trainable_parameters():
    """LESSON.md: phase 2 trains 1,626,048 of the base's 2,257,984 parameters (Keras' count, BN statistics included).

    The real architecture with random weights, built offline; the config is the lesson's defaults and its YAML.
    """
    from transformers import MobileNetV2Config, MobileNetV2Model

    from lora_studio.lesson.facts import lesson_facts
    from lora_studio.lesson.model import format_summary, keras_name

    config = load_config(CONFIGS / "lesson-cats-dogs.yaml", cls=LessonConfig)
    assert config.finetune.unfreeze_fraction == LessonConfig().finetune.unfreeze_fraction
    model = LessonClassifier(MobileNetV2Model(MobileNetV2Config()), ["cats", "dogs"], 224)
    names = unfreeze_last_layers(model, config.finetune.unfreeze_fraction)
    assert len(names) == 25 and names[0] == "layer.12.expand_1x1.normalization"
    assert keras_name(names[0]) == "block_13_expand_BN" and keras_name(names[-1]) == "Conv_1_bn"
    s = parameter_summary(model)
    assert (s["base_trainable"], s["keras_base"]) == (1_626_048, 2_257_984)
    assert (s["trainable"], s["keras_total"], s["keras_non_trainable"]) == (1_628_610, 2_260_546, 631_936)
    text = format_summary(s, "Phase 2")
    assert "base 2,257,984 (1,626,048 trainable)" in text
    assert "total 2,260,546, trainable 1,628,610, non-trainable 631,936" in text
    facts = lesson_facts(config, model.base)
    assert (facts["layers"], facts["unfrozen_layers"], facts["keras_first_unfrozen"]) == (104, 25, "block_13_expand_BN")


def test_explanations_quote_the_runs_own_numbers():
    """Phase 2's texts follow the config and the model, in both languages (not 'the last 25 %, ten times smaller')."""
    from lora_studio.lesson.facts import lesson_facts
    from lora_studio.lesson.texts import explain, explain_stage

    quick = load_config(CONFIGS / "lesson-quick.yaml", cls=LessonConfig)
    facts = lesson_facts(quick, build_tiny_base())
    en, ja = " ".join(explain_stage("phase2", "en", facts)), " ".join(explain_stage("phase2", "ja", facts))
    assert "whole base (all 104 layers)" in en and "same learning rate as in phase 1 (1e-3)" in en
    assert "epochs 3-10" in en and "times smaller" not in en and "the last 25 % of the base" not in en
    assert "104層すべて" in ja and "フェーズ1と同じ 1e-3" in ja and "3〜10エポック目" in ja
    assert "1e-3, 2 epochs" in explain("phase1", "en", facts)
    custom = load_config(None, ["base=tiny", "finetune.unfreeze_fraction=0.5", "finetune.learning_rate=2e-5",
                                "finetune.head_lr_multiplier=10"], cls=LessonConfig)
    facts = lesson_facts(custom, build_tiny_base())
    en, ja = " ".join(explain_stage("phase2", "en", facts)), " ".join(explain_stage("phase2", "ja", facts))
    assert "last 50 % of the base's layers (52 of 104)" in en and "5 times smaller than in phase 1 (2e-5" in en
    assert "the head learns 10 times as fast (2e-4)" in en and "from block 8 of 16" in en
    assert "最後の50%（104層中52層）" in ja and "フェーズ1の5分の1の 2e-5" in ja and "10倍の 2e-4" in ja


def test_augmentation_flips_and_rotates_only_while_training():
    torch.manual_seed(0)
    images = torch.rand(16, 3, 24, 24) * 255
    assert torch.equal(augment(images, flip=False, rotation=0.0), images)
    flipped = augment(images, flip=True, rotation=0.0)
    assert all(torch.equal(f, i) or torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images, strict=True))
    assert not torch.equal(flipped, images)
    rotated = augment(images, flip=False, rotation=0.2)
    assert rotated.shape == images.shape and not torch.allclose(rotated, images)
    model = LessonClassifier(build_tiny_base(), ["a", "b"], 24).eval()
    with torch.no_grad():
        assert torch.equal(model(images), model(images))  # no randomness outside training


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lesson-quick")
    assert main(["lesson", str(CONFIGS / "lesson-quick.yaml"), f"output_dir={out}"]) == 0
    return out


def test_quick_config_learns_and_writes_its_report(quick_run):
    result = json.loads((quick_run / "result.json").read_text())
    assert result["test_accuracy"] >= 0.9
    assert result["initial_val_accuracy"] <= 0.75  # it really had to learn
    metrics = [json.loads(line) for line in (quick_run / "metrics.jsonl").read_text().splitlines()]
    assert [m["phase"] for m in metrics] == [1, 1] + [2] * 8
    assert [m["epoch"] for m in metrics] == list(range(1, 11))
    assert result["summaries"]["phase1"]["trainable"] == 2_562
    for name, size in (("curves.png", (800, 800)), ("predictions.png", (800, 860))):
        with Image.open(quick_run / name) as img:
            img.verify()
        with Image.open(quick_run / name) as img:
            assert img.format == "PNG" and img.size == size


def test_saved_model_predicts_like_before_saving(quick_run):
    samples = json.loads((quick_run / "result.json").read_text())["samples"]
    assert len(samples) == 9
    model = load_lesson_model(quick_run)
    again = predict(model, [s["file"] for s in samples])
    assert [label for label, _ in again] == [s["predicted"] for s in samples]
    assert [p for _, p in again] == pytest.approx([s["probability"] for s in samples], abs=1e-5)


def test_lesson_predict_cli_names_a_bad_file(quick_run, tmp_path, capsys):
    photo = json.loads((quick_run / "result.json").read_text())["samples"][0]
    bad = tmp_path / "holiday.jpg"
    bad.write_text("not really a photo")
    assert main(["lesson-predict", str(quick_run), photo["file"], str(bad)]) == 2
    out, err = capsys.readouterr()
    assert f"{photo['file']}: {photo['predicted']} (" in out
    assert "holiday.jpg" in err and "not a readable image" in err


def test_lesson_predict_without_a_model_says_so(tmp_path, capsys):
    assert main(["lesson-predict", str(tmp_path), "x.jpg"]) == 2
    assert "no trained lesson model" in capsys.readouterr().err


def test_cli_bad_key_is_named(tmp_path, capsys):
    assert main(["lesson", str(CONFIGS / "lesson-quick.yaml"), "transfer.epoch=3", f"output_dir={tmp_path}"]) == 2
    assert "transfer.epoch" in capsys.readouterr().err
    assert main(["lesson", str(CONFIGS / "lesson-quick.yaml"), "finetune.unfreeze_fraction=2"]) == 2
    assert "finetune.unfreeze_fraction" in capsys.readouterr().err


def test_offline_real_base_gives_a_clear_message(tmp_path, capsys):
    code = main(["lesson", str(CONFIGS / "lesson-quick.yaml"), "base=google/mobilenet_v2_1.0_224",
                 f"output_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "google/mobilenet_v2_1.0_224" in err and "base: tiny" in err and "local folder" in err
    assert "Traceback" not in err


def test_missing_config_file_suggests_the_lesson_configs(tmp_path, capsys):
    assert main(["lesson", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml" in err and "configs/lesson-quick.yaml" in err and "quickstart" not in err


def test_missing_data_folder_stops_before_the_model_loads_or_anything_is_written(tmp_path, capsys, monkeypatch):
    import lora_studio.lesson.train as lesson_train

    def no_base(name):
        raise AssertionError("the base was loaded before the data was checked")

    monkeypatch.setattr(lesson_train, "load_base", no_base)
    run = tmp_path / "run"
    for data in ([f"data.path={tmp_path / 'nowhere'}"], [f"data.path={tmp_path}"]):  # no folder; no train/ in it
        code = main(["lesson", str(CONFIGS / "lesson-quick.yaml"), "data.source=folder", *data, f"output_dir={run}"])
        out, err = capsys.readouterr()
        assert code == 2 and "does not exist" in err and out == ""
        assert not run.exists()


@pytest.fixture(scope="module")
def folder_with_a_bad_file(tmp_path_factory) -> tuple[Path, Path]:
    folder = make_shapes_dataset(tmp_path_factory.mktemp("bad") / "data", per_class=6, size=32, seed=2)
    bad = folder / "train" / "circles" / "notes.txt"
    bad.write_text("not a picture")
    return folder, bad


def _small_cli_run(folder: Path, out: Path, *extra: str) -> int:
    return main(["lesson", str(CONFIGS / "lesson-quick.yaml"), "data.source=folder", f"data.path={folder}",
                 "data.image_size=32", "data.batch_size=6", "transfer.epochs=1", "finetune.epochs=1",
                 f"output_dir={out}", *extra])


def test_cli_names_each_skipped_file_once(folder_with_a_bad_file, tmp_path, capsys, caplog):
    folder, bad = folder_with_a_bad_file
    assert _small_cli_run(folder, tmp_path / "run") == 0
    out, err = capsys.readouterr()
    assert f"skipped {bad}: not an image file\n" in out
    assert (out + err).count(str(bad)) == 1  # not on the progress bar, not twice in the line
    assert not any("notes.txt" in r.getMessage() for r in caplog.records)
    assert "the whole base (all 104 layers)" in out and "The last 24 %" not in out  # the run's own numbers
    assert "lesson-predict" in out


def test_cli_speaks_japanese_throughout(folder_with_a_bad_file, tmp_path, capsys):
    folder, bad = folder_with_a_bad_file
    assert _small_cli_run(folder, tmp_path / "run", "language=ja") == 0
    out = capsys.readouterr().out
    for english in ("Phase", "params", "Trainable", "classes:", "images:", "before training", "epoch ", "val_loss",
                    "test loss", "accuracy", "done in", "Results in", "skipped", "not an image", "The model"):
        assert english not in out, english
    for japanese in ("フェーズ1：転移学習（ベースは凍結）", "学習可能：", "クラス：circles, stripes", "学習前：", "エポック  1",
                     "テストの正解率", "完了しました", f"読み込めないので飛ばしました：{bad}（画像ファイルではありません）",
                     "== 1. モデル =="):
        assert japanese in out, japanese


def test_shipped_lesson_configs_load():
    real = load_config(CONFIGS / "lesson-cats-dogs.yaml", cls=LessonConfig)
    assert (real.base, real.data.image_size, real.data.batch_size) == ("google/mobilenet_v2_1.0_224", 224, 32)
    assert (real.transfer.epochs, real.transfer.learning_rate) == (10, 1e-4)
    assert (real.finetune.epochs, real.finetune.learning_rate, real.finetune.unfreeze_fraction) == (10, 1e-5, 0.24)
    quick = load_config(CONFIGS / "lesson-quick.yaml", cls=LessonConfig)
    assert quick.base == "tiny" and quick.data.source == "generated"


def test_run_lesson_reports_events_a_ui_can_draw_and_can_be_stopped(tmp_path):
    import threading

    from lora_studio.errors import TrainingStopped
    from lora_studio.lesson import run_lesson

    config = load_config(None, ["base=tiny", "data.source=generated", "data.generated_per_class=6", "data.image_size=32",
                                "data.batch_size=6", "transfer.epochs=1", "finetune.epochs=1", "cpu_threads=1",
                                f"output_dir={tmp_path / 'run'}"], cls=LessonConfig)
    events = []
    result = run_lesson(config, on_event=events.append)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "stage" and kinds[-1] == "done" and events[-1]["result"] is result
    assert [e["stage"] for e in events if e["type"] == "stage"] == ["model", "data", "phase1", "phase2", "test", "save"]
    stages = [e for e in events if e["type"] == "stage"]
    assert stages[0]["facts"]["transfer_lr"] == config.transfer.learning_rate
    assert all(e["facts"]["unfrozen_layers"] == 25 and e["facts"]["layers"] == 104 for e in stages[1:])
    summaries = [e for e in events if e["type"] == "summary"]
    assert [s["phase"] for s in summaries] == [1, 2] and "Trainable params" in summaries[0]["text"]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [(e["phase"], e["epoch"]) for e in epochs] == [(1, 1), (2, 2)]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy"} <= set(epochs[0])
    assert [e["step"] for e in events if e["type"] == "batch" and e["epoch"] == 1] == [1, 2]
    assert result.history == [{k: v for k, v in e.items() if k != "type"} for e in epochs]
    assert (tmp_path / "run" / "shapes" / "train" / "circles").is_dir()

    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingStopped, match="stopped"):
        run_lesson(config, stop=stop)


def test_base_may_be_a_local_folder(tmp_path):
    from lora_studio.errors import BaseModelError
    from lora_studio.lesson.model import load_base

    tiny = build_tiny_base()
    tiny.save_pretrained(tmp_path / "base")
    loaded = load_base(str(tmp_path / "base"))
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in tiny.state_dict().items())
    # A checkpoint shaped like google/mobilenet_v2_1.0_224 (with its ImageNet classifier): the classifier is dropped.
    from transformers import MobileNetV2Config, MobileNetV2ForImageClassification

    classifier = MobileNetV2ForImageClassification(MobileNetV2Config(depth_multiplier=0.35, num_labels=1001))
    classifier.save_pretrained(tmp_path / "imagenet")
    loaded = load_base(str(tmp_path / "imagenet"))
    assert not hasattr(loaded, "classifier")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in classifier.mobilenet_v2.state_dict().items())
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaseModelError, match="config.json"):
        load_base(str(tmp_path / "empty"))
    with pytest.raises(BaseModelError, match="neither"):
        load_base("./missing-folder")


def test_cli_follows_the_command_lines_language_unless_told_otherwise(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "no-photos"
    monkeypatch.setenv("LORA_STUDIO_LANG", "ja")  # as `lora-studio --lang ja` or a Japanese locale sets it
    assert _small_cli_run(missing, tmp_path / "run") == 2
    assert f"エラー: データセットのフォルダー '{missing}' がありません" in capsys.readouterr().err
    assert _small_cli_run(missing, tmp_path / "run-en", "language=en") == 2
    assert f"error: dataset folder '{missing}' does not exist" in capsys.readouterr().err


def test_cli_says_what_stopped_it_in_the_lessons_language(tmp_path, capsys):
    missing = tmp_path / "no-photos"
    assert _small_cli_run(missing, tmp_path / "run", "language=ja") == 2
    err = capsys.readouterr().err
    assert f"エラー: データセットのフォルダー '{missing}' がありません" in err and "does not exist" not in err
    assert _small_cli_run(missing, tmp_path / "run-en") == 2
    assert f"error: dataset folder '{missing}' does not exist" in capsys.readouterr().err
