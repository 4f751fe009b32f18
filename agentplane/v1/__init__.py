"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.

Regenerate with `make gen` (scripts/gen_protos.py); inputs sha256 09b8105ea67cbe4f82f7f6156e3ef6ee776ff5c2bbc47a67353f45096bee2be6.
"""
