"""The introductory lesson: MobileNetV2 cats vs dogs, a new head on a frozen base, then fine-tuning.

The studio's Lesson tab and the CLI call the same functions:
    config = load_config("configs/lesson-cats-dogs.yaml", overrides, cls=LessonConfig)
    result = run_lesson(config, on_event=callback)      # events: see lora_studio.lesson.train
    model = load_lesson_model(result.run_dir)
    predict(model, ["my_cat.jpg"])                       # -> [("cats", 0.97)]
    explain("two_phases", "ja")                          # the explanations, English or Japanese
"""

from .config import LessonConfig
from .predict import load_lesson_model, predict, save_lesson_model
from .texts import explain, explain_stage
from .train import LessonResult, run_lesson

__all__ = ["LessonConfig", "LessonResult", "explain", "explain_stage", "load_lesson_model", "predict",
           "run_lesson", "save_lesson_model"]
