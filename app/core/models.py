from django.db import models


class Heartbeat(models.Model):
    """One row per run of the periodic `core.tasks.heartbeat` task (pruned to the newest 100)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    hostname = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.hostname or '?'} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
