/**
 * gunicorn.conf.py renderer. The file is Python executed by gunicorn at startup; module-level names
 * gunicorn does not know (the helpers below) are ignored. Valid for gunicorn 20 (Debian 12) through 23.
 */
import { AppConfig, LogFormat } from "../config/types";

/** Each worker is a full Django process; below this much memory per worker, the derived count is capped. */
export const GUNICORN_MIB_PER_WORKER = 128;
/** Upper bound for the derived worker count, whatever the CPU quota. */
export const GUNICORN_MAX_DERIVED_WORKERS = 12;

function positiveInt(what: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`renderGunicornConf: ${what} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** A Python string literal (JSON string syntax is a subset of Python's for these inputs). */
const py = (s: string): string => JSON.stringify(s);

/** gunicorn's worker class: uvicorn's for ASGI, else the configured or derived WSGI class. */
function workerClass(app: AppConfig): string {
  if (app.server === "gunicorn-uvicorn") return "uvicorn.workers.UvicornWorker";
  return app.gunicorn.workerClass ?? (app.gunicorn.threads > 1 ? "gthread" : "sync");
}

/**
 * djangostack:logFormat "json": gunicorn's access and error lines as one JSON object each, built with
 * json.dumps from the access record's atoms (gunicorn's SafeAtoms, which backslash-escape quotes for
 * its text format) so any path or agent stays valid JSON; the request id is the one nginx sets.
 * dictConfig replaces the handlers gunicorn attached for accesslog/errorlog ("-": stdout, stderr).
 */
const JSON_LOGGING = String.raw`
import json as _json
import logging as _logging
import time as _time


class _JsonLines(_logging.Formatter):
    """One JSON object per record; access records carry their fields, not a formatted line."""

    def format(self, record):
        out = {
            "ts": _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(record.created)) + ".%03dZ" % record.msecs,
            "level": record.levelname,
            "logger": record.name,
        }
        atoms = record.args if record.name == "gunicorn.access" and isinstance(record.args, dict) else None
        if atoms is None:
            out["message"] = record.getMessage()
        else:
            text = lambda key: str(atoms[key]).replace('\\"', '"')
            out.update({
                "remote_addr": text("h"),
                "method": text("m"),
                "path": text("U"),
                "query": text("q"),
                "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else text("s"),
                "bytes": int(atoms["B"]) if str(atoms["B"]).isdigit() else 0,
                "duration_ms": round(int(atoms["D"]) / 1000, 3) if str(atoms["D"]).isdigit() else None,
                "request_id": text("{x-request-id}i"),
                "user_agent": text("a"),
            })
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return _json.dumps(out)


logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": _JsonLines}},
    "handlers": {
        "access": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        "error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
    },
}
`;

/**
 * apps[].metrics: prometheus-client's multiprocess mode. Each worker writes its samples to files in
 * PROMETHEUS_MULTIPROC_DIR (an in-memory volume the model mounts); a scrape answered by any worker
 * sums every file. The directory is emptied when the server starts (a Kubernetes emptyDir outlives a
 * container restart, and a worker pid may repeat), and an exited worker's live gauges are dropped
 * (prometheus_client.multiprocess.mark_process_dead, which its docs put in child_exit); its counters
 * stay, so totals never go backwards when a worker is recycled (max_requests).
 */
const METRICS_HOOKS = String.raw`
def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for entry in os.listdir(directory):
        if entry.endswith(".db"):
            os.unlink(os.path.join(directory, entry))


def child_exit(server, worker):
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
`;

export function renderGunicornConf(app: AppConfig, logFormat: LogFormat = "plain"): string {
  const g = app.gunicorn;
  const port = positiveInt("port", app.port, 1);
  const workers = positiveInt("gunicorn.workers", g.workers, 0);
  const threads = positiveInt("gunicorn.threads", g.threads, 1);
  const memoryCap = Math.max(1, Math.floor(app.resources.memoryMiB / GUNICORN_MIB_PER_WORKER));
  const cap = Math.min(GUNICORN_MAX_DERIVED_WORKERS, memoryCap);
  return `# gunicorn.conf.py for app ${py(app.name)}, rendered by djangostack: do not edit.
# Valid for gunicorn 20 through 23. GUNICORN_CMD_ARGS and the command line still override it.
import math
import os


def _cpu_count():
    """CPUs this container may use: its cgroup v2 quota, else the CPUs the process may run on."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _workers(configured, cap):
    """GUNICORN_WORKERS wins; then the configured count; 0 derives (2 x CPUs) + 1, capped."""
    override = os.environ.get("GUNICORN_WORKERS", "").strip()
    if override:
        value = int(override)
        if value < 1:
            raise ValueError("GUNICORN_WORKERS must be >= 1, got %r" % override)
        return value
    if configured > 0:
        return configured
    # The cap keeps a small container (by memory: ${GUNICORN_MIB_PER_WORKER} MiB per worker) from forking more
    # Django processes than it can hold.
    return max(1, min(2 * _cpu_count() + 1, cap))


bind = [${py(`0.0.0.0:${port}`)}]
workers = _workers(${workers}, ${cap})
threads = ${threads}
worker_class = ${py(workerClass(app))}
timeout = ${positiveInt("gunicorn.timeoutSeconds", g.timeoutSeconds, 1)}
graceful_timeout = ${positiveInt("gunicorn.gracefulTimeoutSeconds", g.gracefulTimeoutSeconds, 1)}
keepalive = ${positiveInt("gunicorn.keepaliveSeconds", g.keepaliveSeconds, 1)}
max_requests = ${positiveInt("gunicorn.maxRequests", g.maxRequests, 0)}
max_requests_jitter = ${positiveInt("gunicorn.maxRequestsJitter", g.maxRequestsJitter, 0)}

# The heartbeat file must live on a tmpfs: the root filesystem is read-only and a disk-backed
# directory can stall the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else "/tmp"

accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)ss rid=%({x-request-id}i)s'
proc_name = ${py(`djangostack-${app.name}`)}
${logFormat === "json" ? JSON_LOGGING : ""}${app.metrics ? METRICS_HOOKS : ""}
# Only nginx reaches gunicorn: the port is published on the private container network alone, never
# on the host. So the proxy headers of any peer are trusted, and only X-Forwarded-Proto (which nginx
# always overwrites) marks a request as HTTPS.
forwarded_allow_ips = "*"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
`;
}
