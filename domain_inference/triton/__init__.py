"""Triton Inference Server deployment: repository generator, server process, TensorRT builder, models.

Layer: deployment tooling. `repository` writes a model repository from the built artifacts
(target "python": the bundled tritonserver's Python backend running ONNX Runtime; target
"full": native onnxruntime_onnx / tensorrt_plan models for an NGC Triton), `process` finds
the tritonserver bundled in the nvidia-pytriton wheel and prepares its environment,
`tensorrt_builder` builds FP16 engines when TensorRT and a GPU are present, and `models`
holds the Python-backend model code that runs inside Triton's stub processes.
"""

__all__: list[str] = []
