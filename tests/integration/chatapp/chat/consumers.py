from channels.generic.websocket import WebsocketConsumer


class EchoConsumer(WebsocketConsumer):
    """Answers every text frame with "echo:<text>" plus the Host the ASGI server saw."""

    def connect(self):
        self.accept()

    def receive(self, text_data=None, bytes_data=None):
        host = dict(self.scope["headers"]).get(b"host", b"").decode()
        self.send(text_data=f"echo:{text_data} host={host}")
