from django.contrib import admin
from django.urls import path

from core import views

# /api/v1/health/ and /readyz/ are normally answered by core.middleware.HealthCheckMiddleware
# before URL resolution; the routes below keep them reachable if that middleware is removed.
urlpatterns = [
    path("", views.index, name="index"),
    path("api/v1/health/", views.health, name="health"),
    path("readyz/", views.readyz, name="readyz"),
    path("api/v1/tasks/add/", views.tasks_add, name="tasks-add"),
    path("api/v1/tasks/<str:task_id>/", views.task_status, name="task-status"),
    path("api/v1/session/", views.session_view, name="session"),
    path("api/v1/cache/", views.cache_view, name="cache"),
    path("api/v1/heartbeat/", views.heartbeat_view, name="heartbeat"),
    path("admin/", admin.site.urls),
]
