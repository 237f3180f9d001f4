/**
 * A fake `docker` CLI for the health-gated cutover script (src/render/cutover.ts), emulating exactly
 * the subcommands it uses and refusing anything else (exit 125), so a script that starts using another
 * flag or format fails here instead of passing against an emulation of the wrong thing:
 *
 *   docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' NAME  -> <state>/containers/NAME/health
 *   docker inspect --format '{{.State.Running}}' NAME                                   -> <state>/containers/NAME/running
 *   docker run --rm -i --network none --user 0:0 -v VOL:/upstreams IMAGE sh -c CMD     -> CMD with /upstreams = <state>/volumes/VOL
 *   docker exec NAME ARGS...                                                            -> sh <state>/containers/NAME/exec.sh ARGS...
 *
 * A container exists when its directory does; missing ones answer with the CLI's "No such" errors.
 * Every call is appended to <state>/calls.log, one line of tab-separated arguments.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The emulation itself, copied to `<dir>/bin/docker`. */
const SCRIPT = path.join(__dirname, "fake-docker.sh");

export interface FakeContainer {
  /** Docker's health status ("starting", "healthy", "unhealthy"); undefined: no health check. */
  health?: string;
  running?: boolean;
  /** sh script body run for `docker exec NAME ...` with the exec'd arguments as "$@". */
  exec?: string;
}

export interface FakeDocker {
  /** Directory to put first on PATH. */
  binDir: string;
  state: string;
  /** Environment for the cutover script: PATH with the fake first, and the state dir. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Creates or updates a container; `undefined` removes it. */
  setContainer(name: string, c: FakeContainer | undefined): void;
  /** Makes an image "present on the engine" (docker run refuses others). */
  addImage(ref: string): void;
  /** Directory standing for a named volume (created on first `docker run -v`, or here). */
  volumeDir(name: string): string;
  /** Calls since the last `clearCalls`, each an argument list. */
  calls(): string[][];
  clearCalls(): void;
}

/** Installs the fake under `dir` (bin/docker and state/); the caller owns and removes `dir`. */
export function installFakeDocker(dir: string): FakeDocker {
  const binDir = path.join(dir, "bin");
  const state = path.join(dir, "state");
  for (const d of [binDir, path.join(state, "containers"), path.join(state, "volumes"), path.join(state, "images")]) fs.mkdirSync(d, { recursive: true });
  fs.copyFileSync(SCRIPT, path.join(binDir, "docker"));
  fs.chmodSync(path.join(binDir, "docker"), 0o755);
  fs.writeFileSync(path.join(state, "calls.log"), "");
  const log = path.join(state, "calls.log");
  return {
    binDir,
    state,
    env: (base = process.env) => ({ ...base, PATH: `${binDir}:${base.PATH ?? "/usr/bin:/bin"}`, FAKE_DOCKER_STATE: state }),
    setContainer(name, c) {
      const d = path.join(state, "containers", name);
      if (c === undefined) {
        fs.rmSync(d, { recursive: true, force: true });
        return;
      }
      fs.mkdirSync(d, { recursive: true });
      const put = (file: string, value: string | undefined): void => {
        if (value === undefined) fs.rmSync(path.join(d, file), { force: true });
        else fs.writeFileSync(path.join(d, file), value);
      };
      put("health", c.health);
      put("running", c.running === undefined ? undefined : String(c.running));
      put("exec.sh", c.exec);
    },
    addImage: (ref) => fs.writeFileSync(path.join(state, "images", ref.replace(/\//g, "_")), ""),
    volumeDir(name) {
      const d = path.join(state, "volumes", name);
      fs.mkdirSync(d, { recursive: true });
      return d;
    },
    calls: () =>
      fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.replace(/\t$/, "").split("\t")),
    clearCalls: () => fs.writeFileSync(log, ""),
  };
}
