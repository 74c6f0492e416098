"""How captions become what the UNet is conditioned on, per family.

SD 1.x/2.x: the text encoder's last hidden states. SDXL (as its pipeline and kohya's sdxl_train do): both text
encoders' penultimate hidden states side by side, plus the second encoder's pooled (projected) output; and per
picture six size numbers (original height/width, crop top/left, target height/width) as `time_ids`.
"""

from __future__ import annotations

import torch

from .families import Family


class PromptEncoder:
    """The family's tokenizers and text encoders, encoding a batch of captions."""

    def __init__(self, tokenizers: list, text_encoders: list, *, xl: bool) -> None:
        self.tokenizers, self.text_encoders, self.xl = tokenizers, text_encoders, xl

    @classmethod
    def for_pipe(cls, pipe, family: Family) -> PromptEncoder:
        if family.xl:
            return cls([pipe.tokenizer, pipe.tokenizer_2], [pipe.text_encoder, pipe.text_encoder_2], xl=True)
        return cls([pipe.tokenizer], [pipe.text_encoder], xl=False)

    def _ids(self, tokenizer, captions: list[str]) -> torch.Tensor:
        return tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                         return_tensors="pt").input_ids

    @torch.no_grad()
    def encode(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(hidden states [B, 77, D], pooled [B, P] for SDXL else None)."""
        if not self.xl:
            encoder = self.text_encoders[0]
            device = next(encoder.parameters()).device
            return encoder(self._ids(self.tokenizers[0], captions).to(device))[0], None
        hidden, pooled = [], None
        for tokenizer, encoder in zip(self.tokenizers, self.text_encoders, strict=True):
            device = next(encoder.parameters()).device
            out = encoder(self._ids(tokenizer, captions).to(device), output_hidden_states=True)
            hidden.append(out.hidden_states[-2])
            pooled = out[0]  # the last encoder's (CLIPTextModelWithProjection's text_embeds)
        return torch.cat([h.to(hidden[-1].device) for h in hidden], dim=-1), pooled


def sdxl_time_ids(size_numbers: list[tuple[int, ...]], device, dtype) -> torch.Tensor:
    """[B, 6] time_ids from (original h, original w, crop top, crop left, target h, target w) per picture."""
    return torch.tensor(size_numbers, dtype=torch.float32).to(device, dtype)
