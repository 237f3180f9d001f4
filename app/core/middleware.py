from django.conf import settings

from . import views


class HealthCheckMiddleware:
    """
    Answer the liveness and readiness paths before any other middleware runs, so probes work
    whatever the Host header (no ALLOWED_HOSTS check), over plain HTTP (no SSL redirect), and
    without touching sessions. Paths match with or without the trailing slash.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.routes = {}
        for path, view in ((settings.HEALTH_PATH, views.health), (settings.READY_PATH, views.readyz)):
            self.routes[path] = view
            self.routes[path.rstrip("/") or "/"] = view

    def __call__(self, request):
        view = self.routes.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
