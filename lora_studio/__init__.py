"""lora-studio: train Stable Diffusion LoRAs on a handful of tagged pictures."""

__version__ = "0.1.0"
