"""One-line JSON log records for DJANGO_LOG_FORMAT=json (plain text is the default)."""
import json
import logging
import time


class JsonFormatter(logging.Formatter):
    def format(self, record):
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Set by config.requestid.RequestIdFilter: the id nginx gave the request (or the task's request).
        if getattr(record, "request_id", ""):
            payload["request_id"] = record.request_id
        task = getattr(record, "task_name", None)
        if task:
            payload["task"] = task
            payload["task_id"] = getattr(record, "task_id", None)
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
