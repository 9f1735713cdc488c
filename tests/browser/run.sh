#!/usr/bin/env bash
# Browser test of the ws-demo chat: builds and starts ws-demo on a free port, drives two headless Chromium
# pages (alice and bob) through playwright-core, stops everything. Last line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
ROOT=$(cd ../.. && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
passed=0
failed=0
server_pid=""
node_pid=""
tmp=$(mktemp -d)

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
    # Only what this script started, by id: the node group (node + chromium) and the server.
    [ -n "$node_pid" ] && kill -TERM -- "-$node_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap finish EXIT
trap 'exit 130' INT TERM
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit $?; }

# 1. What the test needs: Chromium (Debian package) and playwright-core (npm ci from the lock file).
if [ ! -x "$CHROMIUM" ]; then
    echo "# installing chromium with apt-get"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        timeout 300 $SUDO apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive timeout 900 $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -x "$CHROMIUM" ] && ok "chromium available ($("$CHROMIUM" --version 2>/dev/null | head -1))" || { not_ok "chromium not installed"; summary; }
if [ ! -f node_modules/playwright-core/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
[ -f node_modules/playwright-core/package.json ] && ok "playwright-core installed" || { not_ok "npm ci failed"; summary; }

# 2. Build and start the server on a free port (--port 0: the OS picks, the start line tells).
if (cd "$ROOT" && timeout 900 cargo build --release -q -p ws-demo); then ok "cargo build --release -p ws-demo"; else not_ok "build failed"; summary; fi
"$TARGET/release/ws-demo" --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
url=""
for _ in $(seq 100); do
    url=$(sed -n 's|^ws-demo: chat on \(http://[^ ]*\) .*|\1|p' "$tmp/server.out")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] && ok "server started: $(head -1 "$tmp/server.out")" || { not_ok "server did not start: $(cat "$tmp/server.err")"; summary; }

# 3. The browser part (it sends SIGTERM to the server at the end to see 1001 in the pages).
setsid timeout --kill-after=5 120 env CHROMIUM="$CHROMIUM" node "$HERE/test.mjs" "$url" "$server_pid" >"$tmp/node.out" 2>&1 &
node_pid=$!
wait "$node_pid"
node_rc=$?
node_pid=""
cat "$tmp/node.out"
passed=$((passed + $(grep -c '^ok - ' "$tmp/node.out")))
failed=$((failed + $(grep -c '^not ok - ' "$tmp/node.out")))
[ "$node_rc" -eq 0 ] || grep -q '^not ok - ' "$tmp/node.out" || not_ok "browser test exited with $node_rc"

# 4. The server shut down gracefully on SIGTERM: exit status 0 within a few seconds.
kill -TERM "$server_pid" 2>/dev/null
for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
    not_ok "server still running 5 s after SIGTERM"
else
    wait "$server_pid"; rc=$?
    server_pid=""
    [ "$rc" -eq 0 ] && ok "server exited 0 after SIGTERM" || not_ok "server exited with $rc"
fi
summary
