"""
ASGI entry point, for an app served by an ASGI server (apps[].server: gunicorn-uvicorn, uvicorn,
daphne): Django for HTTP, and a WebSocket echo at /ws/echo/ so a stack that routes websocketPaths
to this app can be checked end to end. Django handles only the "http" (and no "websocket") scope;
a real app would route WebSockets with Channels instead.
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402  (after the app registry is ready)
from django.http.request import split_domain_port, validate_host  # noqa: E402

ECHO_PATH = "/ws/echo/"


async def websocket_echo(scope, receive, send):
    """Answers each text frame with "echo:<text> host=<Host>"; another path or a Host outside ALLOWED_HOSTS is refused (403)."""
    await receive()  # websocket.connect
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    if scope["path"] != ECHO_PATH or not validate_host(domain, settings.ALLOWED_HOSTS):
        # A close before the accept: the server answers the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        if event.get("text") is not None:
            await send({"type": "websocket.send", "text": f"echo:{event['text']} host={host}"})


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        await websocket_echo(scope, receive, send)
    else:
        await django_application(scope, receive, send)
