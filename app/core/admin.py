from django.contrib import admin

from .models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "hostname")
    readonly_fields = ("created_at", "hostname")
