"""Python-backend models run by Triton's stub processes (tokenizer, encoder, head).

Layer: deployment tooling, executed inside Triton. Each generated `model.py` re-exports one
`TritonPythonModel` from here. They import `triton_python_backend_utils`, which exists only
inside the stub, so nothing else imports these modules.
"""

__all__: list[str] = []
