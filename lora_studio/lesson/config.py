"""The lesson's config: one dataclass from YAML / `key=value` overrides / the studio's form to the run folder.

Defaults are the tutorial's numbers (MobileNetV2 at 224 px, batches of 32, 10 + 10 epochs, AdamW 1e-4 then
1e-5, the tutorial's "last 25 %" cut: 0.24 of the base's layers, see lesson.model). `configs/lesson-quick.yaml`
shrinks them for a CPU smoke run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import LR_MAX, RUN_NAME, SEED_MAX
from ..config_values import setting
from ..errors import ConfigError, UserError

CATS_DOGS_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
CATS_DOGS_SIZE = 68_606_236  # bytes of the archive, checked after the download
PRETRAINED_BASE = "google/mobilenet_v2_1.0_224"
CATS_DOGS_FOLDER = "datasets/cats_and_dogs_filtered"
SOURCES = ("cats_and_dogs", "folder", "generated")


@dataclass
class LessonData:
    source: str = setting("cats_and_dogs", choices=SOURCES,
                          help="'cats_and_dogs': download the tutorial's photos if missing; 'folder': your own "
                               "split/class/*.jpg folder; 'generated': draw a two-class shapes dataset (offline).")
    path: str | None = setting(None, one_line=True,
                               help="Dataset folder with train/<class>/ and validation/<class>/ (empty: "
                                    "datasets/cats_and_dogs_filtered, or <run folder>/shapes for 'generated').")
    url: str = setting(CATS_DOGS_URL, one_line=True, help="Where 'cats_and_dogs' is downloaded from: an https:// address, or the "
                                           "path of the zip archive on this computer.")
    expected_size: int | None = setting(CATS_DOGS_SIZE, minimum=1,
                                        help="Size of the downloaded archive in bytes (empty: do not check).")
    train_split: str = setting("train", one_line=True, help="Subfolder holding the training images.")
    validation_split: str = setting("validation", one_line=True, help="Subfolder split into validation and test images.")
    test_fraction: float = setting(0.2, minimum=0.05, maximum=0.9,
                                   help="Share of the validation folder kept aside as the test set (seeded).")
    image_size: int = setting(224, minimum=32, maximum=1024, help="Images are resized to this square size.")
    batch_size: int = setting(32, minimum=1, help="Images per training step.")
    generated_per_class: int = setting(150, minimum=4,
                                       help="'generated' only: images per class in train/ and in validation/.")


@dataclass
class LessonModel:
    dropout: float = setting(0.0, minimum=0.0, maximum=0.9,
                             help="Dropout before the new head (the Keras guide's variant uses 0.2).")
    flip: bool = setting(True, help="Training-only augmentation: random left-right flips.")
    rotation: float = setting(0.2, minimum=0.0, maximum=0.5,
                              help="Training-only augmentation: random rotation up to this fraction of a full turn.")


@dataclass
class TransferPhase:
    epochs: int = setting(10, minimum=0, help="Phase 1: epochs with the whole base frozen (only the head learns).")
    learning_rate: float = setting(1e-4, above=0.0, maximum=LR_MAX, help="Phase 1: AdamW learning rate of the head.")
    weight_decay: float = setting(0.004, minimum=0.0, help="Phase 1: AdamW weight decay (Keras' default).")


@dataclass
class FinetunePhase:
    epochs: int = setting(10, minimum=0, help="Phase 2: more epochs with the last layers of the base unfrozen.")
    learning_rate: float = setting(1e-5, above=0.0, maximum=LR_MAX, help="Phase 2: AdamW learning rate of the unfrozen base layers.")
    # 0.24, not 0.25: the tutorial's "last 25 %" really unfreezes 25 of 104 layers (37 of Keras' 154), and 0.24
    # reproduces its 1,626,048 trainable base parameters exactly; 0.25 would add block 13's expand convolution.
    unfreeze_fraction: float = setting(0.24, minimum=0.0, maximum=1.0,
                                       help="Phase 2: share of the base's conv and BatchNorm layers (counted from the "
                                            "end) that learn; 0.24 is the tutorial's cut (25 of 104 layers).")
    head_lr_multiplier: float = setting(1.0, minimum=0.0,
                                        help="Phase 2: the head's learning rate is the base's times this "
                                             "(the Chainer variant uses 10).")
    weight_decay: float = setting(0.004, minimum=0.0, help="Phase 2: AdamW weight decay.")


@dataclass
class LessonConfig:
    name: str = setting("lesson-cats-dogs", one_line=True, help="Run name; results go to outputs/<name>.")
    base: str = setting(PRETRAINED_BASE, one_line=True,
                        help="Hub id of a MobileNetV2, a local folder saved with save_pretrained, or 'tiny' "
                             "(a small random offline model for smoke runs).")
    output_dir: str | None = setting(None, one_line=True, help="Run folder (default outputs/<name>).")
    language: str = setting("en", choices=("en", "ja"), help="Language of everything the lesson CLI prints (explanations, tables, progress).")
    device: str = setting("auto", choices=("auto", "cpu", "cuda"), help="'auto' uses CUDA when present.")
    seed: int = setting(42, help="Same seed, same split, same run.", minimum=0, maximum=SEED_MAX)
    cpu_threads: int | None = setting(None, minimum=1,
                                      help="CPU threads for PyTorch (empty: its default; 1 suits a tiny model on "
                                           "a busy machine).")
    data: LessonData = setting(factory=LessonData)
    model: LessonModel = setting(factory=LessonModel)
    transfer: TransferPhase = setting(factory=TransferPhase)
    finetune: FinetunePhase = setting(factory=FinetunePhase)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path("outputs") / self.name

    @property
    def data_dir(self) -> Path:
        if self.data.path:
            return Path(self.data.path).expanduser()
        return self.run_dir / "shapes" if self.data.source == "generated" else Path(CATS_DOGS_FOLDER)

    def validate(self) -> None:
        if not self.name.strip():
            raise ConfigError("lesson_config.name_empty")
        if not RUN_NAME.match(self.name) or self.name in (".", ".."):
            raise ConfigError("lesson_config.bad_run_name", name=self.name)
        if not self.base.strip():
            raise ConfigError("lesson_config.base_empty", base=PRETRAINED_BASE)
        if self.data.source == "folder" and not self.data.path:
            raise ConfigError("lesson_config.path_needed")
        if self.data.source == "cats_and_dogs":
            from .download import local_archive

            try:
                local_archive(self.data.url)
            except UserError as e:
                raise ConfigError("lesson_config.archive", problem=e) from None
        if self.transfer.epochs + self.finetune.epochs == 0:
            raise ConfigError("lesson_config.no_epochs")
