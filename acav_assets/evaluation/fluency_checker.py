"""DATE's optional fluency penalty: FENSE's caption error checker.

The checker is a BERT encoder whose [CLS] state goes through one linear layer to a few error
logits; the last logit means "this caption has an error". A prediction whose sigmoid of that
logit exceeds 0.9 keeps only 0.1 of its similarities. Captions are tokenised with truncation
and padding to 64 tokens, as in FENSE.

The weights are not in any package: download ``echecker_clotho_audiocaps_base.ckpt`` from
FENSE's GitHub release (URL and checksum below); a file whose sha256 is not one of these loads
only when ``$ACAV_UNVERIFIED_CHECKPOINTS`` names it. The checkpoint is a ``torch.save`` dict with
``model_type`` (``bert-base-uncased``), ``num_classes`` and ``state_dict`` (``encoder.*``,
``clf.weight``, ``clf.bias``); the BERT config and tokenizer of ``model_type`` come from the hub
cache, or from ``backbone`` (a local folder) when the hub is out of reach.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from acav_assets.contracts.trusted_models import verify_checkpoint

log = logging.getLogger(__name__)

CHECKPOINTS = {
    "echecker_clotho_audiocaps_base": (
        "https://github.com/blmoistawinde/fense/releases/download/V0.1/echecker_clotho_audiocaps_base.ckpt",
        "1a719f090af70614bbdb9f9437530b7e133c48cfa4a58d964de0d47fc974a2fa",
    ),
    "echecker_clotho_audiocaps_tiny": (
        "https://github.com/blmoistawinde/fense/releases/download/V0.1/echecker_clotho_audiocaps_tiny.ckpt",
        "90ed0ac5033ec497ec66d4f68588053813e085671136dae312097c96c504f673",
    ),
}
ERROR_THRESHOLD = 0.9
PENALTY = 0.1  # the factor a disfluent prediction's similarities are multiplied by
MAX_TOKENS = 64


class FluencyCheckerUnavailable(FileNotFoundError):
    pass


class FluencyChecker:
    """Per-caption error probabilities and DATE penalties from a FENSE-format checkpoint."""

    def __init__(self, checkpoint: str | Path, backbone: str | Path | None = None, device: str | None = None,
                 batch_size: int = 32):
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = Path(checkpoint)
        if not path.is_file():
            known = "\n".join(f"  {name}: {url}" for name, (url, _) in CHECKPOINTS.items())
            raise FluencyCheckerUnavailable(
                f"fluency checker checkpoint {path} not found; download one of FENSE's checkers:\n{known}")
        verify_checkpoint(path, known=[sha for _, sha in CHECKPOINTS.values()], use_sidecar=False)
        try:  # tensors and plain values only: a checkpoint never gets to run code
            states = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            raise ValueError(f"{path} holds Python objects besides tensors and plain values; refusing to "
                             f"unpickle it ({str(error).splitlines()[0]})") from error
        missing = {"model_type", "num_classes", "state_dict"} - set(states)
        if missing:
            raise ValueError(f"{path} is not a FENSE error-checker checkpoint (missing {sorted(missing)})")
        source = str(backbone or states["model_type"])
        config = AutoConfig.from_pretrained(source)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.encoder = AutoModel.from_config(config, add_pooling_layer=False) if config.model_type == "bert" \
            else AutoModel.from_config(config)
        self.classifier = torch.nn.Linear(config.hidden_size, int(states["num_classes"]))
        weights = states["state_dict"]
        encoder_weights = {k[len("encoder."):]: v for k, v in weights.items()
                           if k.startswith("encoder.") and not k.endswith("position_ids")}
        unexpected = self.encoder.load_state_dict(encoder_weights, strict=False)
        if unexpected.missing_keys:
            raise ValueError(f"{path}: encoder weights missing for {unexpected.missing_keys[:5]}")
        self.classifier.load_state_dict({"weight": weights["clf.weight"], "bias": weights["clf.bias"]})
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.encoder.to(self.device).eval()
        self.classifier.to(self.device).eval()
        self.batch_size = batch_size
        log.info("fluency checker %s (%s, %d classes) on %s", path.name, source, states["num_classes"], self.device)

    def error_probabilities(self, captions: Sequence[str]) -> np.ndarray:
        """Sigmoid of the last ("has an error") logit for each caption."""
        import torch

        out = np.zeros(len(captions), np.float32)
        with torch.inference_mode():
            for start in range(0, len(captions), self.batch_size):
                batch = self.tokenizer(list(captions[start:start + self.batch_size]), truncation=True,
                                       padding="max_length", max_length=MAX_TOKENS, return_tensors="pt").to(self.device)
                hidden = self.encoder(**batch).last_hidden_state[:, 0, :]
                out[start:start + len(captions[start:start + self.batch_size])] = (
                    torch.sigmoid(self.classifier(hidden)[:, -1]).float().cpu().numpy())
        return out

    def penalties(self, captions: Sequence[str]) -> np.ndarray:
        """DATE's per-prediction multiplier: 0.1 where the error probability exceeds 0.9, else 1."""
        return np.where(self.error_probabilities(captions) > ERROR_THRESHOLD, PENALTY, 1.0).astype(np.float32)
