"""The review console: a web page where human reviewers resolve escalated tasks.

An aiohttp application served by the platform on its own port. It talks to the
controller only over the controller's gRPC API, with each signed-in reviewer's own
API key, so every page and action is scoped to that reviewer's tenant by the
controller itself.
"""

from console.config import ConsoleSettings
from console.server import CONSOLE, ConsoleServer, build_console

__all__ = ["CONSOLE", "ConsoleServer", "ConsoleSettings", "build_console"]
