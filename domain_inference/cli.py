"""`agentplane models list` and `agentplane classify "text"`.

Layer: CLI (registered through the `agentplane.cli` entry point). `models list` reads the
built artifacts without any server; `classify` calls the running DomainInference service
(`--as` a key of the embedded default, or `--api-key`). `models build` belongs to the
offline build (`modelbuild.cli`), which serving code never imports.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentplane.cli.connect import add_connection_args, open_channel
from agentplane.cli.groups import command_group
from agentplane.rpc import unary
from agentplane.settings import load_settings
from agentplane.v1 import inference_pb2, inference_pb2_grpc
from domain_inference.artifacts import ArtifactsError, load_artifacts
from domain_inference.config import DomainInferenceSettings
from domain_inference.models import ModelCatalog

__all__ = ["register", "run_classify", "run_list"]

SECTION = "domain_inference"


def register(sub: Any) -> None:
    """Add `models list` and `classify`."""
    actions = command_group(sub, "models", "build, list or recalibrate the domain models")
    listing = actions.add_parser("list", help="list the built models with their headline figures")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)
    classify = sub.add_parser("classify", help="classify texts with the running domain_inference service")
    classify.add_argument("texts", nargs="+", help="texts to classify")
    classify.add_argument("--model", default="", help="model name (default news-topic)")
    add_connection_args(classify)
    classify.add_argument("--json", action="store_true", help="print JSON")
    classify.set_defaults(func=run_classify)


def _settings() -> DomainInferenceSettings:
    return load_settings(DomainInferenceSettings, SECTION)


def run_list(args: argparse.Namespace) -> int:
    """Print the built models (name, kind, version, labels, max tokens, headline metrics)."""
    settings = _settings()
    try:
        catalog = ModelCatalog.from_artifacts(load_artifacts(settings.resolved_models_dir))
    except ArtifactsError as exc:
        print(f"agentplane: {exc}", file=sys.stderr)
        return 1
    if args.json:
        rows = [
            {
                "name": m.name,
                "kind": m.kind.value,
                "version": m.version,
                "labels": list(m.labels),
                "max_tokens": m.max_tokens,
                "embedding_dimensions": m.embedding_dimensions,
                "metrics": dict(m.card.metrics) if m.card else {},
            }
            for m in catalog.models
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for m in catalog.models:
        labels = ", ".join(m.labels) or "-"
        print(f"{m.name:<14} {m.kind.value:<10} v{m.version:<16} max_tokens={m.max_tokens} labels: {labels}")
        for name, value in (m.card.metrics if m.card else ())[:6]:
            print(f"    {name} = {value:.4g}")
    return 0


async def run_classify(args: argparse.Namespace) -> int:
    """Classify the texts; print one line (or JSON object) per text."""
    async with open_channel(args, "domain_inference") as channel:
        stub = inference_pb2_grpc.DomainInferenceStub(channel.channel)
        request = inference_pb2.ClassifyRequest(model=args.model, texts=args.texts)
        response = await unary(stub.Classify, request, timeout_s=args.timeout)
    path = inference_pb2.InferencePath.Name(response.path)
    if args.json:
        out = [
            {
                "text": text,
                "label": r.label,
                "confidence": round(r.confidence, 4),
                "out_of_domain": r.out_of_domain,
                "ood_score": round(r.ood_score, 4),
                "probabilities": {p.label: round(p.probability, 4) for p in r.probabilities},
                "truncated": r.truncated,
                "token_count": r.token_count,
                "model": f"{r.model}@{r.model_version}",
                "path": path,
            }
            for text, r in zip(args.texts, response.results, strict=True)
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for text, r in zip(args.texts, response.results, strict=True):
            flag = " OUT-OF-DOMAIN" if r.out_of_domain else ""
            shown = text if len(text) <= 60 else text[:57] + "..."
            print(f"{r.label:<14} confidence={r.confidence:.3f}{flag}  [{shown}]")
    for d in response.degradations:
        print(f"degraded: {d.component}: {d.reason}", file=sys.stderr)
    return 0
