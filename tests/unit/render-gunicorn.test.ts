import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Raw } from "../../src/config/checker";
import { AppConfig } from "../../src/config/types";
import { parseConfig } from "../../src/config/schema";
import { GUNICORN_MAX_DERIVED_WORKERS, renderGunicornConf } from "../../src/render/gunicorn";
import { requireBinary } from "../helpers/executables";
import { withTempFile } from "../helpers/tempfile";

/** Debian's interpreter, which has gunicorn 20 (a pyenv shim earlier on PATH may not). */
const PYTHON = "/usr/bin/python3";
const GUNICORN = "/usr/bin/gunicorn";


function app(raw: Raw = {}): AppConfig {
  return parseConfig({ apps: [raw] }, { project: "djangostack", stack: "test" }).apps[0];
}

function withFile<T>(text: string, fn: (file: string, dir: string) => T): T {
  return withTempFile("djs-render-gunicorn-", "gunicorn.conf.py", text, fn);
}

interface Evaluated {
  bind: string[];
  workers: number;
  threads: number;
  worker_class: string;
  timeout: number;
  graceful_timeout: number;
  keepalive: number;
  max_requests: number;
  max_requests_jitter: number;
  worker_tmp_dir: string;
  accesslog: string;
  errorlog: string;
  forwarded_allow_ips: string;
  secure_scheme_headers: Record<string, string>;
  names: string[];
  affinity: number;
}

/**
 * Executes the rendered file the way gunicorn does (as module code) with a fake cgroup file, and
 * returns its settings. `cpuMax` is the content of /sys/fs/cgroup/cpu.max, or null for "no such file".
 */
function evaluate(text: string, cpuMax: string | null, env: Record<string, string> = {}): Evaluated {
  requireBinary(PYTHON, "python3");
  const script = `
import builtins, io, json, os, sys
cpu_max = json.loads(sys.argv[2])
def fake_open(path, *a, **k):
    if path == "/sys/fs/cgroup/cpu.max":
        if cpu_max is None:
            raise FileNotFoundError(path)
        return io.StringIO(cpu_max)
    return builtins.open(path, *a, **k)
g = {"__name__": "gunicorn_conf", "open": fake_open}
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), g)
keys = ["bind", "workers", "threads", "worker_class", "timeout", "graceful_timeout", "keepalive", "max_requests",
        "max_requests_jitter", "worker_tmp_dir", "accesslog", "errorlog", "forwarded_allow_ips", "secure_scheme_headers"]
out = {k: g[k] for k in keys}
out["names"] = sorted(k for k in g if not k.startswith("_") and k not in ("open", "math", "os"))
out["affinity"] = len(os.sched_getaffinity(0))
print(json.dumps(out))
`;
  return withFile(text, (file) => {
    const r = spawnSync(PYTHON, ["-c", script, file, JSON.stringify(cpuMax)], { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Evaluated;
  });
}

describe("renderGunicornConf", () => {
  it("is valid Python (py_compile)", () => {
    requireBinary(PYTHON, "python3");
    withFile(renderGunicornConf(app()), (file) => {
      const r = spawnSync(PYTHON, ["-m", "py_compile", file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    });
  });

  it("sets only settings gunicorn 20 knows, and none that only newer gunicorn has", () => {
    const settings = evaluate(renderGunicornConf(app()), "max 100000").names;
    // on_starting and child_exit: the metrics hooks (apps[].metrics, on by default), server hooks since gunicorn 19.
    const known = [
      "access_log_format", "accesslog", "bind", "child_exit", "errorlog", "forwarded_allow_ips", "graceful_timeout", "keepalive", "loglevel",
      "max_requests", "max_requests_jitter", "on_starting", "proc_name", "secure_scheme_headers", "threads", "timeout", "worker_class", "worker_tmp_dir", "workers",
    ];
    assert.deepEqual(settings, known);
    assert.ok(!settings.includes("control_socket"));
    const without = evaluate(renderGunicornConf(app({ metrics: { enabled: false } })), "max 100000").names;
    assert.deepEqual(without, known.filter((k) => k !== "child_exit" && k !== "on_starting"), "no metrics, no hooks");
  });

  it("binds every interface on the app's port and carries the configured timeouts and recycling", () => {
    const s = evaluate(renderGunicornConf(app({ port: 8123, gunicorn: { timeout: 45, gracefulTimeout: 20, keepalive: 3, maxRequests: 500, maxRequestsJitter: 50 } })), null);
    assert.deepEqual(s.bind, ["0.0.0.0:8123"]);
    assert.equal(s.timeout, 45);
    assert.equal(s.graceful_timeout, 20);
    assert.equal(s.keepalive, 3);
    assert.equal(s.max_requests, 500);
    assert.equal(s.max_requests_jitter, 50);
    assert.equal(s.accesslog, "-");
    assert.equal(s.errorlog, "-");
    assert.equal(s.worker_tmp_dir, fs.existsSync("/dev/shm") ? "/dev/shm" : "/tmp");
  });

  it("derives workers from the cgroup v2 CPU quota: (2 x CPUs) + 1, rounding a partial CPU up", () => {
    const text = renderGunicornConf(app({ resources: { memory: "4Gi" }, gunicorn: { workers: 0 } }));
    assert.equal(evaluate(text, "200000 100000\n").workers, 5);
    assert.equal(evaluate(text, "150000 100000\n").workers, 5);
    assert.equal(evaluate(text, "50000 100000\n").workers, 3);
  });

  it("falls back to the CPUs the process may use when there is no quota or no cgroup v2", () => {
    const text = renderGunicornConf(app({ resources: { memory: "64Gi" }, gunicorn: { workers: 0 } }));
    for (const cpuMax of ["max 100000\n", null]) {
      const s = evaluate(text, cpuMax);
      assert.equal(s.workers, Math.min(2 * s.affinity + 1, GUNICORN_MAX_DERIVED_WORKERS));
    }
  });

  it("caps derived workers by memory and by an absolute maximum", () => {
    const small = renderGunicornConf(app({ resources: { memory: "256Mi" }, gunicorn: { workers: 0 } }));
    assert.equal(evaluate(small, "800000 100000").workers, 2);
    const big = renderGunicornConf(app({ resources: { memory: "64Gi" }, gunicorn: { workers: 0 } }));
    assert.equal(evaluate(big, "3200000 100000").workers, GUNICORN_MAX_DERIVED_WORKERS);
  });

  it("uses the configured worker count as is, and GUNICORN_WORKERS over both", () => {
    const fixed = renderGunicornConf(app({ gunicorn: { workers: 3 } }));
    assert.equal(evaluate(fixed, "800000 100000").workers, 3);
    assert.equal(evaluate(fixed, "800000 100000", { GUNICORN_WORKERS: "7" }).workers, 7);
    const derived = renderGunicornConf(app({ gunicorn: { workers: 0 } }));
    assert.equal(evaluate(derived, "100000 100000", { GUNICORN_WORKERS: "9" }).workers, 9);
  });

  it("uses the gthread worker when threads > 1, sync otherwise", () => {
    const threaded = evaluate(renderGunicornConf(app({ gunicorn: { threads: 4 } })), null);
    assert.equal(threaded.threads, 4);
    assert.equal(threaded.worker_class, "gthread");
    assert.equal(evaluate(renderGunicornConf(app()), null).worker_class, "sync");
  });

  it("trusts proxy headers from any peer (nginx only, documented) but only X-Forwarded-Proto for HTTPS", () => {
    const text = renderGunicornConf(app());
    const s = evaluate(text, null);
    assert.equal(s.forwarded_allow_ips, "*");
    assert.deepEqual(s.secure_scheme_headers, { "X-FORWARDED-PROTO": "https" });
    assert.match(text, /#[^\n]*Only nginx reaches gunicorn/);
  });

  it("is accepted by gunicorn 20 itself (--check-config loads the file and the app)", () => {
    requireBinary(GUNICORN, "gunicorn");
    withFile(renderGunicornConf(app({ gunicorn: { threads: 2, workers: 0 } })), (file, dir) => {
      fs.writeFileSync(path.join(dir, "wsgiapp.py"), "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n");
      const r = spawnSync(GUNICORN, ["--check-config", "--config", file, "--chdir", dir, "wsgiapp:application"], { encoding: "utf8", cwd: dir });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
  });

  it('logFormat "json": gunicorn 20 accepts the logging config, and an access record with quotes and backslashes becomes valid JSON with the request id', () => {
    requireBinary(GUNICORN, "gunicorn");
    const text = renderGunicornConf(app(), "json");
    assert.doesNotMatch(renderGunicornConf(app()), /logconfig_dict/, "plain text by default");
    withFile(text, (file, dir) => {
      fs.writeFileSync(path.join(dir, "wsgiapp.py"), "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n");
      const check = spawnSync(GUNICORN, ["--check-config", "--config", file, "--chdir", dir, "wsgiapp:application"], { encoding: "utf8", cwd: dir });
      assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
      // gunicorn's own atoms class, as glogging.Logger.access passes it (quotes already backslash-escaped).
      const script = [
        "import logging, runpy, sys",
        "from gunicorn.glogging import SafeAtoms",
        "ns = runpy.run_path(sys.argv[1])",
        'fmt = ns["logconfig_dict"]["formatters"]["json"]["()"]()',
        'atoms = SafeAtoms({"h": "198.51.100.7", "m": "GET", "U": "/a\\"b\\\\c", "q": "x=1", "s": "404", "B": 12, "D": 1500, "a": "agent \\"x\\"", "{x-request-id}i": "rid-1"})',
        'print(fmt.format(logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(h)s", (atoms,), None)))',
        'print(fmt.format(logging.LogRecord("gunicorn.error", logging.INFO, "", 0, "Booting worker with pid: %s", (7,), None)))',
      ].join("\n");
      const r = spawnSync(PYTHON, ["-c", script, file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const [access, error] = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        { path: access.path, status: access.status, bytes: access.bytes, duration_ms: access.duration_ms, request_id: access.request_id, user_agent: access.user_agent },
        { path: '/a"b\\c', status: 404, bytes: 12, duration_ms: 1.5, request_id: "rid-1", user_agent: 'agent "x"' },
      );
      assert.deepEqual([error.logger, error.message], ["gunicorn.error", "Booting worker with pid: 7"]);
    });
  });
});
