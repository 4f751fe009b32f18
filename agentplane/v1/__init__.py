"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.

Regenerate with `make gen` (scripts/gen_protos.py); inputs sha256 a51f4d04042984c3c47183ae9166ecb254e52af7926cb91939facb28bae2e818.
"""
