#!/usr/bin/env bash
# Install the official MCP Inspector (CLI mode drives the stdio MCP servers in tests/mcp/test_inspector.py).
# Idempotent: does nothing when the pinned version is already installed. Needs node >= 18 and npm.
set -euo pipefail
VERSION="0.15.0"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.cache/inspector"
BIN="$DEST/node_modules/.bin/mcp-inspector"
PKG="$DEST/node_modules/@modelcontextprotocol/inspector/package.json"
if ! command -v npm >/dev/null 2>&1; then
    echo "install_inspector: npm not found; the Inspector test will be skipped" >&2
    exit 0
fi
if [[ -x "$BIN" && -f "$PKG" ]] && grep -q "\"version\": \"$VERSION\"" "$PKG"; then
    exit 0
fi
mkdir -p "$DEST"
[[ -f "$DEST/package.json" ]] || echo '{"name": "agentplane-inspector", "private": true}' > "$DEST/package.json"
npm install --prefix "$DEST" --no-audit --no-fund --loglevel=error "@modelcontextprotocol/inspector@$VERSION"
echo "install_inspector: @modelcontextprotocol/inspector@$VERSION in $DEST"
