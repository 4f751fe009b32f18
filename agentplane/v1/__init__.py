"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.

Regenerate with `make gen` (scripts/gen_protos.py); inputs sha256 a35e3083d68951aaa2feb5ca5ee4ee5fc3da1760f50fec62fb14c44ad11a786a.
"""
