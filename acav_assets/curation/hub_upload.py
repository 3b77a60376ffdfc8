"""Push a published release folder to a dataset repository on the Hugging Face Hub, as it is:
its card's ``configs:`` make ``load_dataset(REPO_ID)`` give the same configs and splits as the
local folder. The token comes from the ``HF_TOKEN`` environment variable only (never a config
file or a stored login), and a folder that differs from its ``index.json`` is refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from acav_assets.curation.dataset_card import CARD
from acav_assets.curation.release import index_problems

TOKEN_VARIABLE = "HF_TOKEN"


def hub_api() -> Any:
    """An ``HfApi`` holding the token of ``HF_TOKEN``; a missing token is a ValueError."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise ValueError(f"set {TOKEN_VARIABLE} to a Hugging Face token with write access to push a release")
    from huggingface_hub import HfApi

    return HfApi(token=token)


def push_release(folder: str | Path, repo_id: str, private: bool = False, api: Any = None) -> Any:
    """Create the dataset repo ``repo_id`` if needed (``private`` when created) and upload every
    file of ``folder`` in one commit; ``api``: an ``HfApi``-like object (default :func:`hub_api`).
    Returns what ``upload_folder`` returns (the commit's info)."""
    folder = Path(folder)
    if not (folder / CARD).is_file():
        raise ValueError(f"{folder} has no {CARD}: publish a release first")
    problems = index_problems(folder)
    if problems:
        raise ValueError(f"{folder} differs from its index, not pushed: {problems[:5]}")
    api = hub_api() if api is None else api
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    return api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset",
                             commit_message="Release from acav-assets")
