"""Stage 5, training: the audio-language model (encoder, adapter, decoder), its run config,
examples, training loop, checkpoints and caption generation."""

import importlib
from types import ModuleType

TRAIN_EXTRA = "pip install 'acav-assets[train]'"


def training_module(name: str) -> ModuleType:
    """Import ``name`` (peft, accelerate), which only the ``train`` extra installs."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(f"training needs {name.split('.')[0]}, which the lite install leaves out: {TRAIN_EXTRA}") from error
