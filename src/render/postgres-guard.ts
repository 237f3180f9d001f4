/**
 * Start-up guard of the Postgres container: `sh -c <script> postgres-guard postgres -c ...`.
 *
 * The official image's docker-entrypoint.sh skips initdb whenever `$PGDATA/PG_VERSION` exists, and
 * a server of another major then stops with "database files are incompatible with server": a crash
 * loop whose log says nothing about what to do. A cluster elsewhere on the volume (an earlier PGDATA,
 * the 18+ `<major>/docker` layout) is not seen at all: the entrypoint would initialise an empty one
 * beside it and the stack would serve an empty database. This script runs first and, before anything
 * writes to the volume, refuses both with the upgrade procedure (docs/postgres-upgrade.md); otherwise
 * it execs docker-entrypoint.sh with its arguments. Builtins and `cat` only: it changes no file.
 *
 * Every target passes it as the container's command: on Docker the image's entrypoint runs first and
 * passes a non-`postgres` command through untouched; on Kubernetes `command` replaces the entrypoint,
 * so the guard's own `exec docker-entrypoint.sh` is what keeps the image's initialisation.
 */

export interface PostgresGuardInput {
  /** The configured major (data.postgres.version), the server the image runs. */
  major: string;
  /** Where the data volume is mounted; PGDATA must be inside it. */
  volumeRoot: string;
  /** Names for the procedure in the message: the Docker container and volume, or the Kubernetes namespace. */
  target: { kind: "docker"; container: string; volume: string } | { kind: "kubernetes"; namespace: string; statefulSet: string; claim: string };
}

/** An operator writes this file into a cluster directory it moved aside on purpose (the upgrade's step 2). */
export const RETIRED_MARKER = "DJANGOSTACK_RETIRED";

const MAJOR = /^[0-9]{2}$/;
const PATH = /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/;
const NAME = /^[a-z0-9]([a-z0-9.-]{0,250}[a-z0-9])?$/;

/** The upgrade steps, as shell text inside an unquoted here-document ($have and $want expand). */
function procedure(input: PostgresGuardInput): string[] {
  const t = input.target;
  const retire = `mv /v/pgdata /v/pgdata-$have && touch /v/pgdata-$have/${RETIRED_MARKER}`;
  const restore = "psql -X -q -U postgres -d postgres < pg$have.sql";
  if (t.kind === "docker") {
    const restoreServer = `docker run -d --name ${t.container}-restore --network none -u 999:999 -e POSTGRES_PASSWORD=unused -e PGDATA=/var/lib/postgresql/data/pgdata -e POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256 -v ${t.volume}:/var/lib/postgresql/data postgres:$want-bookworm`;
    return [
      "  1. Set data.postgres.version back to $have and run pulumi up; stop the app containers; then",
      `     docker exec ${t.container} pg_dumpall -U postgres > pg$have.sql`,
      `  2. docker stop ${t.container}`,
      `     docker run --rm -v ${t.volume}:/v postgres:$want-bookworm sh -c '${retire}'`,
      `  3. ${restoreServer}`,
      `     until docker exec ${t.container}-restore pg_isready -q -h 127.0.0.1; do sleep 1; done`,
      `     docker exec -i ${t.container}-restore ${restore}`,
      `     docker rm -f ${t.container}-restore`,
      "  4. Set data.postgres.version to $want and run pulumi up. The old cluster stays in pgdata-$have until you delete it.",
    ];
  }
  const ns = `kubectl -n ${t.namespace}`;
  return [
    `  1. Set data.postgres.version back to $have and run pulumi up; ${ns} scale deployment --all --replicas=0; then`,
    `     ${ns} exec ${t.statefulSet}-0 -c postgres -- pg_dumpall -U postgres > pg$have.sql`,
    `  2. ${ns} scale statefulset ${t.statefulSet} --replicas=0`,
    `     in a pod mounting claim ${t.claim} at /v: ${retire}`,
    `  3. in a pod running postgres:$want-bookworm on that claim (PGDATA=/var/lib/postgresql/data/pgdata): ${restore}`,
    "  4. Set data.postgres.version to $want and run pulumi up. The old cluster stays in pgdata-$have until you delete it.",
  ];
}

export function renderPostgresGuard(input: PostgresGuardInput): string {
  const { major, volumeRoot, target } = input;
  if (!MAJOR.test(major)) throw new Error(`renderPostgresGuard: major ${JSON.stringify(major)} is not a PostgreSQL major version`);
  if (!PATH.test(volumeRoot)) throw new Error(`renderPostgresGuard: volumeRoot ${JSON.stringify(volumeRoot)} is not an absolute path`);
  const names = target.kind === "docker" ? [target.container, target.volume] : [target.namespace, target.statefulSet, target.claim];
  for (const n of names) if (!NAME.test(n)) throw new Error(`renderPostgresGuard: ${JSON.stringify(n)} is not a container, volume or object name`);
  const steps = procedure(input).join("\n");
  return `# djangostack postgres guard (rendered): refuses a data directory of another major, and never
# lets the entrypoint initialise a new cluster next to an existing one. See docs/postgres-upgrade.md.
set -eu
want=${major}
root=${volumeRoot}
data=\${PGDATA:-}
refuse() {
  cat >&2 <<EOM
djangostack: refusing to start PostgreSQL $want: $1
Nothing was changed: no cluster was initialised and no file was written.
EOM
  exit 1
}
upgrade() {
  have=$1
  cat >&2 <<EOM
djangostack: refusing to start PostgreSQL $want: $2 holds a PostgreSQL $have cluster.
A server of another major version cannot read it, and a new cluster beside it would hide the data.
Nothing was changed. To stay on $have, set data.postgres.version back to $have and run pulumi up.
To upgrade, dump with $have and restore into $want (docs/postgres-upgrade.md):
${steps}
EOM
  exit 1
}
nonempty() {
  for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do [ -e "$f" ] && return 0; done
  return 1
}
[ -n "$data" ] || refuse "PGDATA is not set"
case $data in "$root"/*) ;; *) refuse "PGDATA $data is not on the data volume $root: a cluster there would not survive the container" ;; esac
if [ -n "\${PG_MAJOR:-}" ] && [ "$PG_MAJOR" != "$want" ]; then refuse "the image runs PostgreSQL $PG_MAJOR but data.postgres.version is $want"; fi
if [ -s "$data/PG_VERSION" ]; then
  have=; read -r have < "$data/PG_VERSION" || :
  [ "$have" = "$want" ] || upgrade "$have" "$data"
else
  # No cluster in PGDATA: the entrypoint would run initdb. Not while another cluster is on the volume.
  for f in "$root/PG_VERSION" "$root"/*/PG_VERSION "$root"/*/*/PG_VERSION; do
    [ -s "$f" ] || continue
    dir=\${f%/PG_VERSION}
    [ "$dir" != "$data" ] || continue
    [ ! -e "$dir/${RETIRED_MARKER}" ] || continue
    have=; read -r have < "$f" || :
    [ "$have" = "$want" ] || upgrade "$have" "$dir (PGDATA $data has no cluster)"
    refuse "$dir holds a PostgreSQL $have cluster but PGDATA $data has none: move it to PGDATA, or touch $dir/${RETIRED_MARKER} to start an empty cluster on purpose"
  done
  if [ -d "$data" ] && nonempty "$data"; then refuse "$data is not empty but has no PG_VERSION; inspect it by hand"; fi
fi
exec docker-entrypoint.sh "$@"
`;
}
