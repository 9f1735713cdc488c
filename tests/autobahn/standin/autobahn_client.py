"""Stand-in Autobahn client for validating the Autobahn driver (testing only).

Same CLI as the Rust `{rt}_autobahn_client` examples: asks the fuzzing server
for the case count, runs every case (echoing each message back until the
server closes) and finally asks it to write the reports. Needs the
`websockets` package; it is not used by CI.
"""

import argparse
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

CONNECT_OPTIONS = {"max_size": None, "compression": None, "open_timeout": 30}


async def case_count(url: str) -> int:
    """Return the number of cases the server offers (`GET /getCaseCount`)."""
    async with connect(f"{url}/getCaseCount", **CONNECT_OPTIONS) as connection:
        return int(await connection.recv())


async def run_case(url: str, case: int, agent: str) -> None:
    """Run one case: echo every message until the server closes."""
    try:
        case_url = f"{url}/runCase?case={case}&agent={agent}"
        async with connect(case_url, **CONNECT_OPTIONS) as connection:
            async for message in connection:
                await connection.send(message)
    except (WebSocketException, OSError) as error:
        print(f"case {case}: {type(error).__name__}: {error}", file=sys.stderr)


async def update_reports(url: str, agent: str) -> None:
    """Tell the server that the client is done (`GET /updateReports`)."""
    async with connect(f"{url}/updateReports?agent={agent}", **CONNECT_OPTIONS):
        pass


async def run(url: str, agent: str) -> None:
    count = await case_count(url)
    print(f"running {count} cases", file=sys.stderr)
    for case in range(1, count + 1):
        await run_case(url, case, agent)
    await update_reports(url, agent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--agent", required=True)
    args = parser.parse_args()
    asyncio.run(run(args.url.rstrip("/"), args.agent))


if __name__ == "__main__":
    main()
