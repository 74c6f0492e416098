"""What a script sends to the studio's training endpoints becomes the config it means, a resume names only a
checkpoint of a run in outputs/, and the endpoints keep the names, parameters and descriptions scripts rely on.
(Starting, stopping and resuming real runs through gradio_client: test_ui_api.py and test_faults_studio.py.)"""

from __future__ import annotations

import gradio as gr
import pytest

from lora_studio.errors import UserError
from lora_studio.jobs import Jobs
from lora_studio.studio_paths import StudioPaths
from lora_studio.ui.common import Studio
from lora_studio.ui.train_api import TrainApi, config_from_api, studio_resume


@pytest.fixture
def studio(tmp_path) -> Studio:
    paths = StudioPaths.at(tmp_path)
    with gr.Blocks():
        return Studio(paths=paths, jobs=Jobs(paths.outputs, cwd=paths.root), lang=gr.State("en"))


def test_settings_nested_or_dotted_go_over_the_preset_and_a_dataset_name_means_datasets(studio):
    cfg = config_from_api(studio, {"name": "mine", "dataset": {"path": "chars", "resolution": 64},
                                   "train.max_train_steps": 7, "lora.rank": 2}, "quickstart")
    assert (cfg.name, cfg.dataset.resolution, cfg.train.max_train_steps, cfg.lora.rank) == ("mine", 64, 7, 2)
    assert cfg.dataset.path == str(studio.paths.datasets / "chars")
    assert cfg.base == "tiny"  # the rest comes from the preset
    relative = config_from_api(studio, {"dataset.path": "datasets/chars/v2"}, "")
    assert relative.dataset.path == str(studio.paths.root / "datasets" / "chars" / "v2")


def test_an_unknown_preset_is_named_with_the_ones_there_are(studio):
    with pytest.raises(UserError) as error:
        config_from_api(studio, {}, "no-such-preset")
    assert "'no-such-preset' not found" in str(error.value) and "quickstart" in str(error.value)
    assert "プリセット 'no-such-preset' が見つかりません" in error.value.render("ja")


def test_a_resume_names_a_finished_checkpoint_of_a_run_in_outputs(studio):
    checkpoint = studio.paths.outputs / "run" / "checkpoints" / "step-000002"
    checkpoint.mkdir(parents=True)
    assert studio_resume(studio, "latest") == "latest" and studio_resume(studio, "") == ""
    with pytest.raises(UserError, match="train.resume 'run/checkpoints/step-000002'"):
        studio_resume(studio, "run/checkpoints/step-000002")  # not finished: no trainer state yet
    (checkpoint / "trainer_state.json").write_text("{}")
    assert studio_resume(studio, "run/checkpoints/step-000002") == str(checkpoint)
    assert studio_resume(studio, "outputs/run/checkpoints/step-000002") == str(checkpoint)
    for outside in ("../run/checkpoints/step-000002", str(studio.paths.root / "run"), "run/other/step-000002"):
        with pytest.raises(UserError, match="resumes only from 'latest'"):
            studio_resume(studio, outside)


def test_the_endpoints_keep_their_names_parameters_and_descriptions(studio):
    with gr.Blocks() as demo:
        TrainApi(studio).register()
    endpoints = demo.get_api_info()["named_endpoints"]
    parameters = {name: [(p["parameter_name"], p.get("parameter_default")) for p in info["parameters"]]
                  for name, info in endpoints.items()}
    assert parameters == {"/start_training": [("settings", None), ("preset", ""), ("lang", "en")],
                          "/training_status": [("run", "")], "/stop_training": [],
                          "/resume_training": [("run", None), ("lang", "en")], "/list_runs": []}
    assert endpoints["/start_training"]["description"].startswith("Start a training run. `settings`: TrainConfig")
    assert all(info["description"] and info["api_visibility"] == "public" for info in endpoints.values())


def test_an_endpoint_answers_in_the_language_asked_for(studio):
    with pytest.raises(gr.Error) as error:
        TrainApi(studio).start_training({"dataset.path": "chars"}, preset="no-such-preset", lang="ja")
    assert "プリセット 'no-such-preset' が見つかりません" in error.value.message
    assert TrainApi(studio).list_runs() == []
