"""Run a load scenario headless and write CSV and HTML reports.

    python -m loadtest.run --user ControllerUser --scenario steady --peak-users 50 --duration-s 60 \
        --host 127.0.0.1:50051 --out bench/out/steady

Everything after `--` goes to Locust unchanged.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

__all__ = ["locust_command", "main"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def locust_command(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The `locust` command line for these arguments."""
    out = Path(args.out)
    return [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", args.host,
        "--scenario", args.scenario,
        "--peak-users", str(args.peak_users),
        "--duration-s", str(args.duration_s),
        "--credentials", args.credentials,
        "--key-names", args.key_names,
        "--mix", args.mix,
        "--realtime-base-url", args.realtime_base_url,
        "--csv", str(out),
        "--html", f"{out}.html",
        "--only-summary",
        "--stop-timeout", "10",
        *extra,
        args.user,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run Locust, return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--user", default="ControllerUser", choices=["ControllerUser", "GatewayUser", "DomainUser", "RealtimeUser"]
    )
    parser.add_argument("--host", default="127.0.0.1:50051", help="service address(es), comma-separated")
    parser.add_argument("--scenario", default="steady", choices=["steady", "spike", "soak"])
    parser.add_argument("--peak-users", type=int, default=20)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--credentials", default=".agentplane/credentials.toml")
    parser.add_argument("--key-names", default="acme-user,globex-user")
    parser.add_argument("--mix", default="domain=70,llm=20,realtime=10")
    parser.add_argument("--realtime-base-url", default="http://127.0.0.1:8090")
    parser.add_argument("--out", default="bench/out/load")
    args = parser.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run(locust_command(args, extra), check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
