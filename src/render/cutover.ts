/**
 * Health-gated cutover on the Docker targets: a POSIX sh script, run by the deploy with the `docker`
 * CLI against the engine (never assuming it runs on the Docker host), that switches one nginx upstream
 * to a new set of containers only once Docker reports every one of them healthy.
 *
 * Why not Docker's network aliases: Docker publishes a container's alias when it starts, not when it
 * is healthy, so `server <alias> resolve` sends traffic to a container still starting and keeps
 * sending it to one that never becomes healthy. Instead nginx includes one file per upstream
 * (`NginxInput.upstreamsDir`) naming containers, and only this script writes that file:
 *
 *   1. every new container's health status must be `healthy`, else exit 1 and write nothing;
 *   2. the nginx container's state is read (absent on the first deploy: the file is only written);
 *   3. the file is written into the upstreams volume by a throwaway container, the previous one kept
 *      as `.<upstream>.conf.prev`, the new one moved into place (nginx never reads a partial file);
 *   4. if nginx runs: `nginx -t`, then `nginx -s reload`; a rejected file is replaced by the previous.
 *
 * Pure: the input in, the script text out. The upstream block is `renderUpstreamBlock`'s, the same
 * text `renderNginx` renders inline.
 */
import { UpstreamOptions, renderUpstreamBlock } from "./nginx";

export interface CutoverInput {
  /** nginx upstream name ("web-web", "frontend"); the file is `<upstreamsDir>/<upstream>.conf`. */
  upstream: string;
  /** The new release's containers, one per replica; nginx connects to `<container>:<port>`. */
  containers: string[];
  /** Port the containers listen on inside their network. */
  port: number;
  /** Docker volume the nginx container mounts (read-only) at its `upstreamsDir`. */
  volume: string;
  /** Name of the nginx container, which may not exist yet (first deploy). */
  nginxContainer: string;
  /** Image the write step runs (needs sh, cat, cp, mv): the nginx image id, already on the engine. */
  image: string;
  /** Passed to `renderUpstreamBlock`: true when nginx.conf has a `resolver` (the Docker targets). */
  upstreamOptions: UpstreamOptions;
  /**
   * "running": the app has no probe (apps[].health liveness and readiness "none"), so Docker reports
   * no health and a running container is all there is to wait for. Default "healthy".
   */
  gate?: "healthy" | "running";
}

/** Docker's own rule for container and volume names. */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Same character set as nginx.ts's upstream names, which also become file names here. */
const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** name[:tag][@digest], an id ("sha256:<hex>" or bare hex), optionally with a registry host:port. */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

/** Where the write step mounts the volume; the fake `docker` of the integration test rewrites it. */
export const CUTOVER_MOUNT = "/upstreams";

function fail(what: string, value: unknown): never {
  throw new Error(`renderCutoverScript: invalid ${what}: ${JSON.stringify(value)}`);
}

/** Single-quoted for sh. The values are validated already; quoting is still what makes them inert. */
function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function validate(input: CutoverInput): void {
  if (!UPSTREAM_NAME.test(input.upstream)) fail("upstream", input.upstream);
  if (input.containers.length === 0) fail("containers (at least one)", input.containers);
  for (const c of input.containers) if (!DOCKER_NAME.test(c)) fail("container name", c);
  if (new Set(input.containers).size !== input.containers.length) fail("containers (duplicates)", input.containers);
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) fail("port", input.port);
  if (!DOCKER_NAME.test(input.volume)) fail("volume name", input.volume);
  if (!DOCKER_NAME.test(input.nginxContainer)) fail("nginx container name", input.nginxContainer);
  if (!IMAGE.test(input.image)) fail("image", input.image);
}

/** Heredoc delimiter for the file body; the block never contains it (asserted below). */
const EOF_MARK = "DJANGOSTACK_UPSTREAM_EOF";

/** The POSIX sh script; exit 0 means nginx routes (or, before nginx exists, will route) to `containers`. */
export function renderCutoverScript(input: CutoverInput): string {
  validate(input);
  const { upstream, volume, nginxContainer, image } = input;
  const file = `${CUTOVER_MOUNT}/${upstream}.conf`;
  const tmp = `${CUTOVER_MOUNT}/.${upstream}.conf.tmp`;
  const prev = `${CUTOVER_MOUNT}/.${upstream}.conf.prev`;
  const servers = input.containers.map((c) => `${c}:${input.port}`);
  const body = `# Upstream ${upstream}: written by the deploy's health-gated cutover; do not edit.\n${renderUpstreamBlock(upstream, servers, input.upstreamOptions)}`;
  if (body.split("\n").includes(EOF_MARK)) throw new Error("renderCutoverScript: upstream text contains the heredoc delimiter");
  // Root in the throwaway container: a new named volume is root-owned and the nginx image runs as uid 101.
  const inVolume = (cmd: string): string => `docker run --rm -i --network none --user 0:0 -v ${q(`${volume}:${CUTOVER_MOUNT}`)} ${q(image)} sh -c ${q(cmd)}`;
  const write = `set -e; umask 022; cat > ${tmp}; if [ -f ${file} ]; then cp ${file} ${prev}; else rm -f ${prev}; fi; mv ${tmp} ${file}`;
  const restore = `if [ -f ${prev} ]; then mv ${prev} ${file}; else rm -f ${file}; fi`;
  const keeps = "nginx is not switched and the running release keeps serving";
  return [
    "#!/bin/sh",
    `# Health-gated cutover of nginx upstream ${upstream}, rendered by djangostack: nginx routes to the new`,
    "# containers only once Docker reports every one healthy; on any failure the running release keeps serving.",
    "set -u",
    "",
    "fail() {",
    `  echo "cutover ${upstream}: $*" >&2`,
    "  exit 1",
    "}",
    "",
    "restore() {",
    `  ${inVolume(restore)} </dev/null || echo "cutover ${upstream}: could not restore the previous upstream file" >&2`,
    "}",
    "",
    ...(input.gate === "running"
      ? [
          "# 1. The app has no probe: each new container must at least be running.",
          `for c in ${input.containers.map(q).join(" ")}; do`,
          "  if ! state=$(docker inspect --format '{{.State.Running}}' \"$c\"); then",
          `    fail "cannot inspect container $c; ${keeps}"`,
          "  fi",
          '  if [ "$state" != true ]; then',
          `    fail "container $c is not running; ${keeps}"`,
          "  fi",
          "done",
        ]
      : [
          "# 1. Docker publishes a container's alias when it starts, so health is checked here, not assumed.",
          `for c in ${input.containers.map(q).join(" ")}; do`,
          "  if ! status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' \"$c\"); then",
          `    fail "cannot inspect container $c; ${keeps}"`,
          "  fi",
          '  if [ "$status" != healthy ]; then',
          `    fail "container $c is \${status:-without a health check}, not healthy; ${keeps}"`,
          "  fi",
          "done",
        ]),
    "",
    "# 2. Before writing, so a failure here leaves the file as it was. Absent on the first deploy.",
    // stdout alone: a warning on stderr must not turn "true" into "not running" (written, never reloaded).
    `if ! running=$(docker inspect --format '{{.State.Running}}' ${q(nginxContainer)} 2>/dev/null); then`,
    `  err=$(docker inspect --format '{{.State.Running}}' ${q(nginxContainer)} 2>&1 >/dev/null)`,
    '  case "$err" in',
    '    *"No such"*) running=absent ;;',
    `    *) fail "cannot inspect nginx container ${nginxContainer}: $err; ${keeps}" ;;`,
    "  esac",
    "fi",
    'case "$running" in',
    "  true | false | absent) ;;",
    `  *) fail "unexpected state of nginx container ${nginxContainer}: $running; ${keeps}" ;;`,
    "esac",
    "",
    "# 3. Written beside the file, then renamed over it: nginx never reads a partial file.",
    `${inVolume(write)} <<'${EOF_MARK}' || fail "could not write the upstream file into volume ${volume}; ${keeps}"`,
    body.trimEnd(),
    EOF_MARK,
    "",
    "# 4. Reload a running nginx; a file it rejects is replaced by the previous one.",
    'if [ "$running" != true ]; then',
    `  echo "cutover ${upstream}: upstream file written; nginx container ${nginxContainer} is not running ($running) and loads it when it starts"`,
    "  exit 0",
    "fi",
    `if ! out=$(docker exec ${q(nginxContainer)} nginx -t 2>&1); then`,
    "  restore",
    `  fail "nginx -t rejected the new upstream file, the previous one is restored; ${keeps}: $out"`,
    "fi",
    `if ! out=$(docker exec ${q(nginxContainer)} nginx -s reload 2>&1); then`,
    "  restore",
    `  fail "nginx -s reload failed, the previous upstream file is restored; ${keeps}: $out"`,
    "fi",
    `echo "cutover ${upstream}: nginx reloaded; it routes to ${servers.join(" ")}"`,
    "",
  ].join("\n");
}
