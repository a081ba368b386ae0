"""Names and settings shared by the ONNX export, the int8 rewrite and the ONNX backend.

One place for the graph's input/output names, the file names, the metadata keys and the
quantization scheme, so export and runtime cannot drift apart. Imports nothing heavy (no torch,
no onnx, no onnxruntime).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentvec.model_format import ModelSpec

#: Graph inputs, in order; ``token_type_ids`` only when the transformer uses token types.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
#: The graph's one output: (batch, dim) float32 sentence vectors.
OUTPUT_NAME = "sentence_embedding"
#: ONNX opset of exported graphs.
OPSET = 17

#: Backend name -> graph variant -> file name.
VARIANTS = {"onnx": "fp32", "onnx-int8": "int8"}
FILE_NAMES = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
#: Folder (inside a writable model folder) holding cached exports.
BESIDE_DIR = ".sentvec-onnx"

#: Metadata keys stored in the graph.
META_GRAPH = "sentvec_graph"  # pooling/dense/normalize settings as JSON
META_TRANSFORMER = "sentvec_transformer_config"  # model_type, hidden size, heads as JSON
META_DIM = "sentvec_dim"  # output width
META_QUANTIZATION = "sentvec_quantization"  # the QUANTIZATION dict below, as JSON

#: The int8 scheme (see :mod:`sentvec.backends.onnx.quantize`; measured in BENCHMARKS.md,
#: "Batch-invariant int8"). Part of the export cache key: changing it re-exports.
QUANTIZATION: dict[str, Any] = {
    "scheme": "per-token-dynamic",  # activations: one scale per token (row), never per batch
    "weights": "int8-symmetric-per-channel-gptq",  # rounding calibrated on CALIBRATION_TEXTS
    "ops": ["MatMul"],  # every MatMul with a constant 2-D weight
    "kernel": "QuantizeLinear-per-row+MatMulIntegerToFloat+Mul",
    "smooth_alpha": 0.6,  # SmoothQuant strength ...
    "smooth_outputs_of": ["LayerNormalization"],  # ... for LayerNorm outputs only
    # 1 was onnxruntime quantize_dynamic (one scale per batch); 2 per-token with unfused
    # element-wise nodes, round-to-nearest weights
    "version": 3,
}

#: Calibration text for the int8 rewrite (per-channel activation ranges): the knowledge base
#: shipped inside the package (questions and answers), so an export never needs a dataset.
# its own file: editing the demo knowledge base must not change every int8 graph
CALIBRATION_TEXTS = ("sentvec.data", "int8_calibration.jsonl")
CALIBRATION_MAX_TOKENS = 256


def graph_settings(spec: ModelSpec) -> dict[str, Any]:
    """The settings baked into an exported graph (max_seq_length is not: axes are dynamic).

    :param spec: the model.
    :return: pooling modes, dense layers and normalisation, as JSON values.
    """
    s = spec.settings()
    return {
        "pooling": s["pooling"],
        "dense": [list(d) for d in s["dense"]],
        "normalize": s["normalize"],
    }
