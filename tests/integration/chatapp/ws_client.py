"""WebSocket round trip for the tests: connect (optionally over TLS with a CA file), send, print the reply."""
import asyncio
import ssl
import sys
from urllib.parse import urlparse

import websockets


async def main(uri, connect_host, connect_port, message, cafile):
    kwargs = {"host": connect_host, "port": int(connect_port), "open_timeout": 10}
    if cafile:
        kwargs["ssl"] = ssl.create_default_context(cafile=cafile)
        # Connecting to 127.0.0.1: SNI and the certificate check still use the URI's host name.
        kwargs["server_hostname"] = urlparse(uri).hostname
    async with websockets.connect(uri, **kwargs) as ws:
        await ws.send(message)
        print(await asyncio.wait_for(ws.recv(), 10))


asyncio.run(main(*sys.argv[1:5], sys.argv[5] if len(sys.argv) > 5 else None))
