"""
Celery app (`celery -A config worker|beat`) plus file-based probes, so orchestrators never need
`celery inspect ping`:

- worker: a bootstep touches CELERY_WORKER_HEARTBEAT_FILE every CELERY_WORKER_HEARTBEAT_SECONDS
  (default 10) from the worker's event-loop timer, so the file goes stale when the loop is stuck
  or the broker connection is down; `worker_ready` creates CELERY_WORKER_READY_FILE;
  `worker_shutdown` removes both. Stale files from a previous run are removed at start-up
  (a Kubernetes emptyDir outlives container restarts).
- beat: HeartbeatScheduler (settings.CELERY_BEAT_SCHEDULER) touches CELERY_BEAT_HEARTBEAT_FILE on
  every tick; CELERY_BEAT_MAX_LOOP_INTERVAL bounds the time between ticks.
"""
import logging
import os

from celery import Celery, bootsteps, signals
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Connects the signals that carry the request id from the request to its tasks.
from config import requestid  # noqa: E402,F401


def _path(name, default):
    return os.environ.get(name, "").strip() or default


WORKER_HEARTBEAT_FILE = _path("CELERY_WORKER_HEARTBEAT_FILE", "/tmp/celery/worker.heartbeat")
WORKER_READY_FILE = _path("CELERY_WORKER_READY_FILE", "/tmp/celery/worker.ready")
BEAT_HEARTBEAT_FILE = _path("CELERY_BEAT_HEARTBEAT_FILE", "/tmp/celery/beat.heartbeat")
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("CELERY_WORKER_HEARTBEAT_SECONDS") or 10)


def touch(path):
    """Create or refresh `path` (and its directory); never raise into Celery."""
    try:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "a"):
            pass
        os.utime(path, None)
    except OSError as exc:
        logger.warning("cannot touch probe file %s: %s", path, exc)


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("cannot remove probe file %s: %s", path, exc)


class LivenessHeartbeat(bootsteps.StartStopStep):
    """Touch the worker heartbeat file from the worker's timer (event loop with prefork/threads)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, parent):
        touch(WORKER_HEARTBEAT_FILE)
        self.tref = parent.timer.call_repeatedly(WORKER_HEARTBEAT_SECONDS, touch, (WORKER_HEARTBEAT_FILE,), priority=10)

    def stop(self, parent):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


app.steps["worker"].add(LivenessHeartbeat)


@signals.worker_init.connect
def _clear_stale_probe_files(**_kwargs):
    remove(WORKER_READY_FILE)
    remove(WORKER_HEARTBEAT_FILE)


@signals.worker_ready.connect
def _mark_ready(**_kwargs):
    touch(WORKER_READY_FILE)


@signals.worker_shutdown.connect
def _clear_probe_files(**_kwargs):
    remove(WORKER_READY_FILE)
    remove(WORKER_HEARTBEAT_FILE)


class HeartbeatScheduler(PersistentScheduler):
    """PersistentScheduler that proves liveness by touching CELERY_BEAT_HEARTBEAT_FILE each tick."""

    def __init__(self, *args, **kwargs):
        schedule_filename = kwargs.get("schedule_filename")
        if schedule_filename and os.path.dirname(schedule_filename):
            os.makedirs(os.path.dirname(schedule_filename), exist_ok=True)
        remove(BEAT_HEARTBEAT_FILE)
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        touch(BEAT_HEARTBEAT_FILE)
        return super().tick(*args, **kwargs)

    def close(self):
        super().close()
        remove(BEAT_HEARTBEAT_FILE)
