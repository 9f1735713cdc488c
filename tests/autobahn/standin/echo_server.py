"""Stand-in echo server for validating the Autobahn driver (testing only).

Same CLI as the Rust `{rt}_echo_server` examples: binds 127.0.0.1:PORT and
echoes every text/binary message back. Needs the `websockets` package; it is
not used by CI.
"""

import argparse
import asyncio

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(connection) -> None:
    """Echo every message back until the peer closes."""
    try:
        async for message in connection:
            await connection.send(message)
    except ConnectionClosed:
        pass


async def serve_forever(port: int) -> None:
    """Serve the echo handler on the loopback interface until killed."""
    async with serve(echo, "127.0.0.1", port, max_size=None, compression=None) as server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve_forever(parser.parse_args().port))


if __name__ == "__main__":
    main()
