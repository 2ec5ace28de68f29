"""A guest in its own process: publishes test tone and pattern to a WHIP URL until killed.

    python -m support.lone_guest URL TOKEN

Prints "connected" once its connection is up. Killed with SIGKILL it vanishes as a guest
whose machine lost power would: no DELETE, no DTLS close.
"""

from __future__ import annotations

import asyncio
import sys

from support.whip_client import WhipClient


async def main(url: str, token: str) -> None:
    guest = WhipClient(url, token=token, data_channel=False)
    await guest.publish()
    await guest.wait_connected()
    print("connected", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
