"""Models: build by name (timm / torchvision), preprocess by the model's own config, and
read/write the `final.pt` checkpoint contract."""

from shiftlab.models.checkpoint import (
    atomic_torch_save,
    load_checkpoint,
    model_from_checkpoint,
    model_meta,
    read_checkpoint,
    save_checkpoint,
    unwrap,
)
from shiftlab.models.factory import (
    ModelSpec,
    create_model,
    fetch_weights,
    head_keys,
    list_models,
    num_outputs,
    read_state_dict,
    replace_head,
    resolve_name,
    safe_name,
)
from shiftlab.models.preprocess import data_config, eval_transform, normalize_transform

__all__ = [
    "ModelSpec",
    "atomic_torch_save",
    "create_model",
    "data_config",
    "eval_transform",
    "fetch_weights",
    "head_keys",
    "list_models",
    "load_checkpoint",
    "model_from_checkpoint",
    "model_meta",
    "normalize_transform",
    "num_outputs",
    "read_checkpoint",
    "read_state_dict",
    "replace_head",
    "resolve_name",
    "safe_name",
    "save_checkpoint",
    "unwrap",
]
