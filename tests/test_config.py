import json
from pathlib import Path

import pytest

from lora_studio.config import TrainConfig, config_fields, dump_yaml, load_config, save_config, to_dict
from lora_studio.errors import ConfigError

CONFIGS = sorted(Path(__file__).resolve().parent.parent.joinpath("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads(path):
    if path.name.startswith("lesson-"):
        from lora_studio.lesson.config import LessonConfig

        cfg = load_config(path, cls=LessonConfig)
    else:
        cfg = load_config(path)
        assert isinstance(cfg, TrainConfig)
        assert cfg.name


def test_shipped_configs_exist():
    names = {p.name for p in CONFIGS}
    assert {"quickstart.yaml", "character-8gb.yaml", "character-best.yaml"} <= names


def test_overrides_are_dotted_and_typed(tmp_path):
    cfg = load_config(CONFIGS[0].parent / "quickstart.yaml",
                      ["train.max_train_steps=7", "lora.alpha=3", "output_dir=" + str(tmp_path / "run"),
                       "sample.prompts=[a, b]", "train.learning_rate=2e-4", "train.prediction_type=v_prediction"])
    assert cfg.train.max_train_steps == 7
    assert cfg.lora.alpha == 3.0 and isinstance(cfg.lora.alpha, float)
    assert cfg.run_dir == tmp_path / "run"
    assert cfg.sample.prompts == ["a", "b"]
    assert cfg.train.learning_rate == pytest.approx(2e-4)
    assert cfg.train.prediction_type == "v_prediction"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("train.max_train_step=5", "train.max_train_step"),  # typo
        ("bogus=1", "bogus"),
        ("lora.rank=0", "lora.rank"),
        ("train.max_train_steps=-3", "train.max_train_steps"),
        ("train.batch_size=two", "train.batch_size"),
        ("sample.sampler=heun2", "sample.sampler"),
        ("dataset.shuffle_tags=maybe", "dataset.shuffle_tags"),
        ("lora.targets=everything", "lora.targets"),
        ("train.mixed_precision=fp8", "train.mixed_precision"),
        ("train=3", "train"),
        ("train.learning_rate=nan", "train.learning_rate"),  # YAML and float() both accept nan/inf
        ("lora.alpha=.inf", "lora.alpha"),
        ("dataset.caption_dropout=NaN", "dataset.caption_dropout"),
        ("name=../../elsewhere", "name"),  # the adapter file would land outside the run folder
        ("name=a/b", "name"),
        ("dataset.resolution=100", "dataset.resolution"),  # not a multiple of 8: the VAE would refuse it at sampling
        ("dataset.bucket_step=50", "dataset.bucket_step"),
    ],
)
def test_bad_values_name_the_key(override, named):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert named in str(err.value)


def test_override_without_equals_is_explained():
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["train.max_train_steps"])


def test_missing_and_broken_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)


def test_save_and_load_round_trip(tmp_path):
    cfg = load_config(None, ["name=x", "lora.rank=8", "sample.prompts=[hello]"])
    save_config(cfg, tmp_path / "config.yaml")
    again = load_config(tmp_path / "config.yaml")
    assert again == cfg
    assert "rank: 8" in dump_yaml(cfg)


def config_reference(cls: type = TrainConfig) -> list[tuple[str, str, str]]:
    """(dotted key, default, help) for every setting, as the README's config reference lists them."""
    rows, defaults = [], to_dict(cls())
    for key, _tp, f in config_fields(cls):
        value = defaults
        for part in key.split("."):
            value = value[part]
        default = "null" if value is None else json.dumps(value, ensure_ascii=False)
        help_text = f.metadata.get("help", "")
        if f.metadata.get("choices"):
            help_text += " Choices: " + ", ".join("null" if c is None else str(c) for c in f.metadata["choices"]) + "."
        rows.append((key, default, help_text))
    return rows


def config_reference_markdown() -> str:
    lines = ["| key | default | what it does |", "|---|---|---|"]
    lines += [f"| `{k}` | `{d}` | {h} |" for k, d, h in config_reference()]
    return "\n".join(lines)


def test_readme_config_reference_is_current():
    readme = (CONFIGS[0].parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- config-reference:start -->\n", 1)[1].split("\n<!-- config-reference:end -->", 1)[0]
    assert section == config_reference_markdown(), (
        "README's config reference is stale; paste this between its config-reference markers:\n"
        + config_reference_markdown())
