"""lora-studio: train Stable Diffusion LoRAs on a handful of tagged pictures."""

import os

# Library notices (missing torchvision, deprecations) drown out the progress a beginner needs to see;
# errors still show. Set TRANSFORMERS_VERBOSITY / DIFFUSERS_VERBOSITY yourself to get them back.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

__version__ = "0.1.0"
