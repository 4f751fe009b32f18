"""`python -m agentplane.cli`: the same as the `agentplane` command."""

from agentplane.cli.main import main

raise SystemExit(main())
