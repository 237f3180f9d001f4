/**
 * Issue 10 item 7 on real servers: an app's release commands run after its migration in the release
 * one-off (`<app>-migrate`, the model's own command line) with the new image's code and the app's
 * env, in order; the first that fails stops the rest and fails the release, which gates the rollout
 * on every target. Django 3.2/4 and PostgreSQL 15 from Debian.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as names from "../../src/model/names";
import { Credentials, Stack, generateCredentials, loadStack, processCommand } from "./fixtures";
import { runAppCommand } from "./harness/django";
import { useHarness } from "./harness/process";
import { AppDirs, DataTier, appDirs, appEnv, startDataTier } from "./stackup";

useHarness();

const APP = "web";
const SUPERUSER = "release-admin";
const app = (release: string[][]) => [{
  name: APP,
  routes: ["/"],
  env: { DJANGO_SUPERUSER_USERNAME: SUPERUSER, DJANGO_SUPERUSER_EMAIL: "ops@example.com" },
  release,
}];

let data: DataTier;
let creds: Credentials;
let dirs: AppDirs;

async function release(stack: Stack): Promise<{ code: number; output: string }> {
  // The password reaches createsuperuser as secret env, as secretEnv.web.DJANGO_SUPERUSER_PASSWORD would.
  const env = { ...appEnv(stack, names.migrate(APP), creds, data, dirs, APP), DJANGO_SUPERUSER_PASSWORD: "a-long-release-password" };
  const r = await runAppCommand(processCommand(stack, names.migrate(APP), dirs.dir), { env, home: dirs.dir, check: false });
  return { code: r.code ?? -1, output: r.stdout + r.stderr };
}

const superusers = async (): Promise<string> =>
  (await data.postgres!.psql(["-tAc", `SELECT count(*) FROM auth_user WHERE username = '${SUPERUSER}' AND is_superuser`], { database: names.database(APP) })).stdout.trim();

before(async () => {
  const stack = await loadStack("local", { apps: app([]) });
  creds = generateCredentials(stack.config);
  data = await startDataTier(stack, creds, { rabbitmq: false });
  dirs = appDirs();
}, { timeout: 120_000 });

describe("release commands (issue 10 item 7)", () => {
  test("run after the migration, in order, with the app's env: createsuperuser --noinput makes the user", async () => {
    const stack = await loadStack("local", { apps: app([["python", "manage.py", "createsuperuser", "--noinput"], ["python", "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"]]) });
    const r = await release(stack);
    assert.equal(r.code, 0, r.output);
    assert.equal(await superusers(), "1", "the release command ran against the migrated database");
  });

  test("the first failing command stops the rest and fails the release", async () => {
    // A second createsuperuser fails (the user exists); the marker command after it must not run.
    const stack = await loadStack("local", { apps: app([["python", "manage.py", "createsuperuser", "--noinput"], ["python", "-c", "print('RELEASE-MARKER: after the failure')"]]) });
    const r = await release(stack);
    assert.notEqual(r.code, 0, "a failed release command must fail the release");
    assert.match(r.output, /already taken/);
    assert.doesNotMatch(r.output, /RELEASE-MARKER/);
  });

  test("arguments reach the command as written, shell characters included", async () => {
    const stack = await loadStack("local", { apps: app([["python", "-c", "import sys; print('ARGS=' + repr(sys.argv[1:]))", "$HOME", "a b", "it's;`x`"]]) });
    const r = await release(stack);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /ARGS=\['\$HOME', 'a b', "it's;`x`"\]/);
  });
});
