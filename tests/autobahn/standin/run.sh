#!/bin/sh
# Run driver.py against the Python stand-in adapter (testing the driver only;
# not part of CI). The stand-in replaces every adapter's server and client.
# Usage: tests/autobahn/standin/run.sh [driver options...]
set -eu
VENV=${STANDIN_VENV:-/tmp/ws-autobahn-standin-venv}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --disable-pip-version-check -q websockets==17.4
fi
exec python3 "$HERE/../driver.py" --no-build \
    --command-override "*=server:$VENV/bin/python {root}/tests/autobahn/standin/echo_server.py --port {port}" \
    --command-override "*=client:$VENV/bin/python {root}/tests/autobahn/standin/autobahn_client.py --url {url} --agent {agent}" \
    "$@"
