"""The default backend: the torch SentenceModel in inference mode."""

from __future__ import annotations

import numpy as np
import torch

from sentvec.model_format import ModelSpec
from sentvec.modules import SentenceModel, build_model


class TorchBackend:
    """Runs a :class:`SentenceModel` under ``torch.inference_mode``."""

    name = "torch"

    def __init__(self, model: SentenceModel, device: str = "cpu") -> None:
        self.model = model.to(device)
        self.device = torch.device(device)
        self.dim = model.output_dim

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, device: str = "cpu", trust_remote_code: bool = False
    ) -> TorchBackend:
        """:param spec: the model. :param device: torch device. :param trust_remote_code: see
        :func:`sentvec.modules.build_model`. :return: the backend."""
        return cls(build_model(spec, trust_remote_code=trust_remote_code), device)

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                out = self.model(
                    torch.from_numpy(input_ids).to(self.device),
                    torch.from_numpy(attention_mask).to(self.device),
                    torch.from_numpy(token_type_ids).to(self.device)
                    if self.model.uses_token_types
                    else None,
                )  # (B, D)
        finally:
            self.model.train(was_training)
        return out.float().cpu().numpy()
