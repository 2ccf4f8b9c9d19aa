#!/usr/bin/env bash
# Installs what the end-to-end test (test/e2e/) needs, outside the project's package.json so that
# `npm ci` stays lean: Debian's chromium, libkrb5-dev (code-server's kerberos builds from source) and
# ripgrep, plus code-server from the npm registry into a cache folder (recipe: ../shared/e2e, setup A).
# Idempotent: a second run only checks and returns (a few seconds).
# Usage: scripts/e2e-setup.sh        (BERT_LAB_E2E_TOOLS overrides the cache folder)
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
TOOLS_DIR="${BERT_LAB_E2E_TOOLS:-$HOME/.cache/bert-lab-e2e}"
PREFIX="$TOOLS_DIR/code-server-$CODE_SERVER_VERSION"
ENTRY="$PREFIX/node_modules/code-server/out/node/entry.js"
MARKER="$PREFIX/.installed"
start=$(date +%s)

log() { echo "e2e-setup: $*"; }

# --- Debian packages (only the missing ones; apt-get update only when something is missing) ---
missing=()
for pkg in chromium libkrb5-dev ripgrep; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
  log "apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "e2e-setup: /usr/bin/chromium missing after apt-get install" >&2; exit 1; }

# --- code-server (cached by version; the marker is written only after a complete install) ---
if [ -f "$MARKER" ] && [ -f "$ENTRY" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $PREFIX"
else
  log "installing code-server@$CODE_SERVER_VERSION into $PREFIX"
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  # @vscode/ripgrep downloads rg from GitHub (unreachable here): pre-fill its download cache with Debian's rg.
  tmp="${TMPDIR:-/tmp}"
  cache="$tmp/vscode-ripgrep-cache-1.15.11"
  tarball="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -s "$tarball" ]; then
    mkdir -p "$cache"
    stage=$(mktemp -d)
    cp "$(command -v rg)" "$stage/rg"
    tar -czf "$tarball.tmp" -C "$stage" rg && mv "$tarball.tmp" "$tarball"
    rm -rf "$stage"
  fi
  # A private package.json so npm does not walk up into the project; it lists the install scripts relied on.
  cat >"$PREFIX/package.json" <<'EOF'
{
  "name": "bert-lab-e2e-tools",
  "private": true,
  "description": "code-server for BERT Lab's end-to-end test (installed by scripts/e2e-setup.sh)",
  "allowScripts": {
    "code-server": true,
    "@vscode/ripgrep": true,
    "kerberos": true,
    "node-pty": true,
    "@parcel/watcher": true,
    "argon2": true
  }
}
EOF
  # code-server's postinstall refuses root without unsafe_perm; node-pty's postinstall runs `npx node-gyp`.
  (cd "$PREFIX" && npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --no-audit --no-fund --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION")
  [ -f "$ENTRY" ] || { echo "e2e-setup: code-server install incomplete: $ENTRY missing" >&2; exit 1; }
  touch "$MARKER"
fi

log "ready in $(($(date +%s) - start)) s: code-server $ENTRY, chromium /usr/bin/chromium"
