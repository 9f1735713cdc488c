#!/usr/bin/env bash
# Browser test of the ws-demo chat: builds and starts ws-demo on a free port, drives two headless Chromium
# pages (alice and bob) through playwright-core over http:// (HTTP/1.1 upgrades); then starts it again with
# a self-signed certificate and drives two pages over https:// (the WebSockets open over HTTP/2, RFC 8441),
# then starts a redis-server on a free port and two ws-demo processes with --redis, and drives a page on
# each: they chat with each other. Stops everything. Last line: "N passed, M failed".
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
tls_pid=""
redis_pid=""
demo_a_pid=""
demo_b_pid=""
tmp=$(mktemp -d)

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
    # Only what this script started, by id: the node group (node + chromium) and the server.
    [ -n "$node_pid" ] && kill -TERM -- "-$node_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
    [ -n "$tls_pid" ] && kill -KILL "$tls_pid" 2>/dev/null
    [ -n "$demo_a_pid" ] && kill -KILL "$demo_a_pid" 2>/dev/null
    [ -n "$demo_b_pid" ] && kill -KILL "$demo_b_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill -KILL "$redis_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap finish EXIT
trap 'exit 130' INT TERM
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit $?; }

# Installs a Debian package with apt-get (as root or through sudo).
apt_install() {
    echo "# installing $1 with apt-get"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        timeout 300 $SUDO apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

# Runs a node script in its own process group, bounded; counts its ok/not ok lines.
run_node() {
    setsid timeout --kill-after=5 120 env CHROMIUM="$CHROMIUM" node "$@" >"$tmp/node.out" 2>&1 &
    node_pid=$!
    wait "$node_pid"
    local rc=$?
    node_pid=""
    cat "$tmp/node.out"
    passed=$((passed + $(grep -c '^ok - ' "$tmp/node.out")))
    failed=$((failed + $(grep -c '^not ok - ' "$tmp/node.out")))
    [ "$rc" -eq 0 ] || grep -q '^not ok - ' "$tmp/node.out" || not_ok "browser test $1 exited with $rc"
}

# Waits for a ws-demo start line in $1 and prints the page URL (scheme $2).
wait_url() {
    local url=""
    for _ in $(seq 100); do
        url=$(sed -n "s|^ws-demo: chat on \($2://[^ ]*\) .*|\1|p" "$1")
        [ -n "$url" ] && break
        sleep 0.1
    done
    echo "$url"
}

# SIGTERM to a server by pid: it must exit 0 within 5 s.
stop_gracefully() {
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$1" 2>/dev/null; then
        not_ok "$2 still running 5 s after SIGTERM"
    else
        wait "$1"; local rc=$?
        [ "$rc" -eq 0 ] && ok "$2 exited 0 after SIGTERM" || not_ok "$2 exited with $rc"
    fi
}

# 1. What the test needs: Chromium (Debian package) and playwright-core (npm ci from the lock file).
[ -x "$CHROMIUM" ] || apt_install chromium
command -v openssl >/dev/null || apt_install openssl
command -v redis-server >/dev/null || apt_install redis-server
[ -x "$CHROMIUM" ] && ok "chromium available ($("$CHROMIUM" --version 2>/dev/null | head -1))" || { not_ok "chromium not installed"; summary; }
if [ ! -f node_modules/playwright-core/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
[ -f node_modules/playwright-core/package.json ] && ok "playwright-core installed" || { not_ok "npm ci failed"; summary; }

# 2. Build and start the server on a free port (--port 0: the OS picks, the start line tells).
if (cd "$ROOT" && timeout 900 cargo build --release -q -p ws-demo); then ok "cargo build --release -p ws-demo"; else not_ok "build failed"; summary; fi
"$TARGET/release/ws-demo" --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
url=$(wait_url "$tmp/server.out" http)
[ -n "$url" ] && ok "server started: $(head -1 "$tmp/server.out")" || { not_ok "server did not start: $(cat "$tmp/server.err")"; summary; }

# 3. The browser part (it sends SIGTERM to the server at the end to see 1001 in the pages).
run_node "$HERE/test.mjs" "$url" "$server_pid"

# 4. The server shut down gracefully on SIGTERM: exit status 0 within a few seconds.
stop_gracefully "$server_pid" "server"
server_pid=""

# 5. TLS: a self-signed certificate for 127.0.0.1, Chromium trusting its key (SPKI SHA-256) and nothing
#    else; ALPN gives h2, so the page and both chat WebSockets share HTTP/2 connections.
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/openssl.err"; then
    ok "self-signed certificate for 127.0.0.1"
else
    not_ok "openssl req: $(cat "$tmp/openssl.err")"; summary
fi
spki=$(openssl x509 -in "$tmp/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
"$TARGET/release/ws-demo" --port 0 --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" \
    >"$tmp/tls.out" 2>"$tmp/tls.err" &
tls_pid=$!
tls_url=$(wait_url "$tmp/tls.out" https)
[ -n "$tls_url" ] && ok "TLS server started: $(head -1 "$tmp/tls.out")" || { not_ok "TLS server did not start: $(cat "$tmp/tls.err")"; summary; }
run_node "$HERE/test-tls.mjs" "$tls_url" "$spki" "$tmp/tls.err"
stop_gracefully "$tls_pid" "TLS server"
tls_pid=""

# 6. Two processes, one room: redis-server on a free port (no persistence), two ws-demo --redis on free
#    ports; a page on each chats with the other.
redis_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.out" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
[ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && ok "redis-server started on port $redis_port" || { not_ok "redis-server did not start: $(tail -3 "$tmp/redis.out")"; summary; }
"$TARGET/release/ws-demo" --port 0 --redis "redis://127.0.0.1:$redis_port" >"$tmp/a.out" 2>"$tmp/a.err" &
demo_a_pid=$!
"$TARGET/release/ws-demo" --port 0 --redis "redis://127.0.0.1:$redis_port" >"$tmp/b.out" 2>"$tmp/b.err" &
demo_b_pid=$!
url_a=$(wait_url "$tmp/a.out" http)
url_b=$(wait_url "$tmp/b.out" http)
# Both subscribed before the pages connect (the start line comes before the subscription).
for _ in $(seq 100); do
    grep -q "redis connected" "$tmp/a.err" && grep -q "redis connected" "$tmp/b.err" && break
    sleep 0.1
done
if [ -n "$url_a" ] && [ -n "$url_b" ] && grep -q "redis connected" "$tmp/a.err" && grep -q "redis connected" "$tmp/b.err"; then
    ok "two ws-demo --redis processes: $url_a and $url_b"
else
    not_ok "ws-demo --redis did not start or connect: $(cat "$tmp/a.err" "$tmp/b.err")"; summary
fi
run_node "$HERE/test-redis.mjs" "$url_a" "$url_b"
stop_gracefully "$demo_a_pid" "ws-demo --redis (A)"
demo_a_pid=""
stop_gracefully "$demo_b_pid" "ws-demo --redis (B)"
demo_b_pid=""
kill -TERM "$redis_pid" 2>/dev/null
wait "$redis_pid" 2>/dev/null
redis_pid=""
summary
