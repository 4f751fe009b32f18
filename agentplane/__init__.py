"""agentplane: the shared core of the platform (settings, logging, RPC, auth, limits, resilience, CLI).

The core imports no service package; services import the core and talk to each
other only over gRPC through the generated stubs in `agentplane.v1`.
"""

__all__: list[str] = []
__version__ = "0.1.0"
