"""Write the news-topic head as an ONNX graph with `onnx.helper` (no torch needed).

Layer: build tooling (onnx, numpy).

Graph, for input `embedding` float32 [batch, 384]:
    logits       = embedding @ W + b                               [batch, 5]
    probs        = Softmax(logits / T)                             [batch, 5]
    centroid_cos = normalise(embedding) @ centroids.T              [batch, 5]
    mahalanobis  = min_k || embedding @ L - mean_k @ L ||^2        [batch]
    ood_logit    = embedding @ w_ood + b_ood                       [batch]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from modelbuild.head import LinearModel
from modelbuild.ood import MahalanobisModel, OodDetector

__all__ = ["HEAD_INPUT", "HEAD_OUTPUTS", "HeadParameters", "export_head", "write_metadata"]

HEAD_INPUT = "embedding"
HEAD_OUTPUTS = ("logits", "probs", "centroid_cos", "mahalanobis", "ood_logit")
OPSET = 17
IR_VERSION = 8


@dataclass(frozen=True)
class HeadParameters:
    """Everything the head graph computes with.

    Attributes:
        classifier: Topic logits.
        temperature: Softmax temperature.
        centroids: (classes, dim) unit-norm class directions.
        mahalanobis: Class means and precision factor.
        detector: Off-topic log-odds.
    """

    classifier: LinearModel
    temperature: float
    centroids: npt.NDArray[np.float64]
    mahalanobis: MahalanobisModel
    detector: OodDetector


def export_head(params: HeadParameters, path: Path, metadata: Mapping[str, str]) -> None:
    """Build, check and save the head graph.

    Args:
        params: Trained parameters (stored as float32).
        path: Destination `.onnx` file.
        metadata: Key/value pairs stored in the model's `metadata_props`.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dim, classes = params.classifier.weight.shape

    def const(name: str, value: npt.ArrayLike, dtype: type = np.float32) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(value, dtype=dtype), name=name)

    projected_means = params.mahalanobis.means @ params.mahalanobis.precision_cholesky
    initializers = [
        const("W", params.classifier.weight),
        const("b", params.classifier.bias),
        const("inv_temperature", [1.0 / params.temperature]),
        const("centroids_t", params.centroids.T),
        const("norm_eps", [1e-12]),
        const("L", params.mahalanobis.precision_cholesky),
        const("projected_means", projected_means),
        const("unsqueeze_axes", [1], np.int64),
        const("w_ood", params.detector.weight.reshape(dim, 1)),
        const("b_ood", [params.detector.bias]),
        const("flat_shape", [-1], np.int64),
    ]
    nodes = [
        helper.make_node("MatMul", [HEAD_INPUT, "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits"]),
        helper.make_node("Mul", ["logits", "inv_temperature"], ["scaled_logits"]),
        helper.make_node("Softmax", ["scaled_logits"], ["probs"], axis=-1),
        helper.make_node("ReduceL2", [HEAD_INPUT], ["norm"], axes=[1], keepdims=1),
        helper.make_node("Max", ["norm", "norm_eps"], ["safe_norm"]),
        helper.make_node("Div", [HEAD_INPUT, "safe_norm"], ["unit"]),
        helper.make_node("MatMul", ["unit", "centroids_t"], ["centroid_cos"]),
        helper.make_node("MatMul", [HEAD_INPUT, "L"], ["projected"]),
        helper.make_node("Unsqueeze", ["projected", "unsqueeze_axes"], ["projected_3d"]),
        helper.make_node("Sub", ["projected_3d", "projected_means"], ["offsets"]),
        helper.make_node("ReduceSumSquare", ["offsets"], ["class_distances"], axes=[2], keepdims=0),
        helper.make_node("ReduceMin", ["class_distances"], ["mahalanobis"], axes=[1], keepdims=0),
        helper.make_node("MatMul", [HEAD_INPUT, "w_ood"], ["ood_column"]),
        helper.make_node("Add", ["ood_column", "b_ood"], ["ood_column_biased"]),
        helper.make_node("Reshape", ["ood_column_biased", "flat_shape"], ["ood_logit"]),
    ]
    graph = helper.make_graph(
        nodes,
        "news_topic_head",
        [helper.make_tensor_value_info(HEAD_INPUT, TensorProto.FLOAT, ["batch", dim])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("centroid_cos", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("mahalanobis", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("ood_logit", TensorProto.FLOAT, ["batch"]),
        ],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="agentplane.modelbuild",
        ir_version=IR_VERSION,
    )
    _set_metadata(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path))


def _set_metadata(model: object, metadata: Mapping[str, str]) -> None:
    from onnx import helper

    del model.metadata_props[:]  # type: ignore[attr-defined]
    helper.set_model_props(model, dict(sorted(metadata.items())))  # type: ignore[arg-type]


def write_metadata(path: Path, metadata: Mapping[str, str]) -> None:
    """Replace the `metadata_props` of the ONNX file at `path` with `metadata`, in key order."""
    import onnx

    model = onnx.load_model(str(path))
    _set_metadata(model, metadata)
    onnx.save_model(model, str(path))
