/** What a one-off container is, for the message a failed run prints. */
export interface OneOffScriptInput {
  /** The process name users know (e.g. "web-migrate", "postgres-init", "tls-placeholder"). */
  process: string;
  /** The container's fixed name on the engine. */
  container: string;
  /** How the user reads the container's output, e.g. `docker logs <name>` or the same over ssh. */
  logsCommand: string;
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Single-quotes a value for POSIX sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script that runs a created (never started) one-off container to completion with the `docker`
 * CLI and fails when it exits non-zero. Its output is discarded, never printed: it would land in the
 * deploy log (the init's psql can echo a statement with a password); the message says where to read it.
 * Run as a Command: a failing create leaves no state, so the next `pulumi up` runs the one-off again.
 */
export function renderOneOffScript(input: OneOffScriptInput): string {
  if (!CONTAINER_NAME.test(input.container)) throw new Error(`djangostack: one-off container name ${JSON.stringify(input.container)} is not a Docker container name`);
  const name = shellQuote(input.container);
  const failed = (reason: string) =>
    `echo "djangostack: ${input.process} ${reason}. Nothing after it ran: the running release is untouched and keeps serving. ` +
    `Read its output with: ${input.logsCommand.replace(/["\\$`]/g, "\\$&")} . Fix the cause and run pulumi up again: it runs ${input.process} again (no --replace needed)." >&2`;
  return [
    "set -u",
    `if ! docker start ${name} >/dev/null; then`,
    `  ${failed("could not be started")}`,
    "  exit 1",
    "fi",
    // `docker wait` blocks until the container stops; inspect then reads the code of this run.
    `docker wait ${name} >/dev/null`,
    `code=$(docker inspect --format '{{.State.ExitCode}}' ${name})`,
    'if [ "$code" = 0 ]; then exit 0; fi',
    failed("exited with code $code"),
    "exit 1",
    "",
  ].join("\n");
}
