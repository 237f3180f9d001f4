import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Evaluation, evaluateStack, renderStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { containsSecret, isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { fakeHex } from "../../src/offline/fake-values";

let ev: Evaluation;

const containers = () => ev.engine.resources.filter((r) => r.type === "docker:index/container:Container");
function container(process: string): RecordedResource {
  const found = containers().find((c) => labelsOf(c)["djangostack.process"] === process);
  assert.ok(found, `no container for ${process}`);
  return found;
}
function labelsOf(r: RecordedResource): Record<string, string> {
  const labels = (unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[];
  return Object.fromEntries(labels.map((l) => [l.label, l.value]));
}
function envOf(r: RecordedResource): Record<string, string> {
  const envs = (unwrapSecrets(r.inputs.envs) ?? []) as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

function volumesOf(r: RecordedResource): { volumeName: string; containerPath: string; readOnly?: boolean }[] {
  return (unwrapSecrets(r.inputs.volumes) ?? []) as { volumeName: string; containerPath: string; readOnly?: boolean }[];
}
/** The Command that runs a one-off container (`<stack>-docker-<process>-run`). */
function oneOffRun(process: string): RecordedResource {
  const found = ev.engine.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith(`-${process}-run`));
  assert.ok(found, `no run command for ${process}`);
  return found;
}
/** The ID the offline engine's container fake returns (src/offline/fakes.ts). */
const fakeContainerId = (c: RecordedResource): string => fakeHex(`ctr:${c.name}`);

describe("local stack under the offline engine", () => {
  before(async () => {
    ev = await evaluateStack({ stack: "local" });
  });

  it("creates the whole stack: network, volumes, data services, one-offs, web, worker, beat and nginx", () => {
    const processes = containers().map((c) => labelsOf(c)["djangostack.process"]).sort();
    assert.deepEqual(processes, ["nginx", "postgres", "postgres-init", "rabbitmq", "redis", "web-beat", "web-migrate", "web-web", "web-worker-default", "nginx-exporter", "postgres-exporter", "redis-exporter", "web-celery-exporter"].sort());
    assert.deepEqual(ev.engine.resources.filter((r) => r.type === "docker:index/network:Network").map((n) => n.inputs.name).sort(), ["djangostack-local-edge", "djangostack-local-net"]);
    const volumes = ev.engine.resources.filter((r) => r.type === "docker:index/volume:Volume").map((v) => String(v.inputs.name));
    for (const v of ["postgres-data", "redis-data", "rabbitmq-data", "static-web", "media-web"]) assert.ok(volumes.includes(`djangostack-local-${v}`), `volume ${v} missing from ${volumes.join(", ")}`);
    assert.ok(ev.engine.resources.some((r) => r.type === "docker-build:index:Image"), "the app image is built");
  });

  it("publishes a port only from nginx, on loopback 8080", () => {
    for (const c of containers()) {
      const ports = (c.inputs.ports ?? []) as { internal: number; external: number; ip: string }[];
      if (labelsOf(c)["djangostack.process"] === "nginx") assert.deepEqual(ports, [{ internal: 8080, external: 8080, ip: "127.0.0.1" }]);
      else assert.equal(ports.length, 0, `${labelsOf(c)["djangostack.process"]} publishes ${JSON.stringify(ports)}`);
    }
  });

  it("hands the same generated role password to the Postgres init and to the app's DATABASE_URL, both secret", () => {
    const init = container("postgres-init");
    const web = container("web-web");
    // The engine marks a list secret as a whole when any entry is: each env list carrying a credential is secret.
    assert.ok(isWireSecret(init.inputs.envs), "the init container's env is secret");
    assert.ok(isWireSecret(web.inputs.envs), "the web container's env is secret");
    const password = envOf(init).DB_PASSWORD_WEB;
    assert.ok(password.length >= 32, "a generated 32-character password");
    const url = new URL(envOf(web).DATABASE_URL);
    assert.equal(decodeURIComponent(url.password), password);
    assert.equal(url.username, "web_user");
    assert.equal(url.hostname, "postgres");
    assert.equal(url.pathname, "/web_db");
    const superuser = envOf(container("postgres")).POSTGRES_PASSWORD;
    assert.notEqual(superuser, password, "the superuser and the app role have distinct passwords");
    const passwords = ev.engine.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    assert.ok(passwords.every((p) => p.inputs.special === false || p.name.includes("django-secret-key")), "URL-borne passwords have no specials");
  });

  it("never hands a credential to a container in plain text", () => {
    const credential = /^(DATABASE_URL|REDIS_URL|CELERY_BROKER_URL|CELERY_RESULT_BACKEND|DJANGO_SECRET_KEY|POSTGRES_PASSWORD|POSTGRES_SUPERUSER_PASSWORD|REDIS_PASSWORD|PGPASSWORD|DB_PASSWORD_|DATA_SOURCE_PASS|CE_BROKER_URL)=/;
    for (const c of containers()) {
      const carries = Object.keys(envOf(c)).some((k) => credential.test(`${k}=`));
      if (carries) assert.ok(isWireSecret(c.inputs.envs), `${labelsOf(c)["djangostack.process"]} receives credentials in plain env`);
      else assert.ok(!containsSecret(c.inputs.envs), `${labelsOf(c)["djangostack.process"]} has no credential but a secret env`);
    }
    assert.ok(!containsSecret(container("nginx").inputs.envs), "nginx gets no credential at all");
    assert.ok(containsSecret(container("rabbitmq").inputs.uploads), "RabbitMQ definitions (password hashes) upload is secret");
  });

  it("runs migrations with the app image before web, workers and beat, gated on their exit code", () => {
    const migrate = container("web-migrate");
    assert.equal(migrate.inputs.start, false, "the provider only creates the one-off; a Command runs it");
    assert.equal(migrate.inputs.mustRun, false);
    assert.equal(migrate.inputs.attach, undefined, "an attached one-off's non-zero exit is recorded, never failed");
    assert.equal(migrate.inputs.logs, undefined, "no one-off output is kept in state");
    assert.equal(migrate.inputs.image, container("web-web").inputs.image, "migrations run the image web will run");
    const run = oneOffRun("web-migrate");
    assert.ok(run.options.dependsOn.includes(migrate.name), "the run waits for its container");
    assert.deepEqual(run.inputs.triggers, [fakeContainerId(migrate)], "a new migration container (new image or env) runs again");
    assert.equal(run.inputs.environment, undefined, "the local engine: no DOCKER_HOST");
    assert.match(String(run.inputs.create), /docker start 'djangostack-local-web-migrate'/);
    for (const p of ["web-web", "web-worker-default", "web-beat"]) {
      const c = container(p);
      assert.ok(c.options.dependsOn.includes(run.name), `${p} does not wait for the migration's run`);
      assert.ok(!Object.keys(labelsOf(c)).some((l) => l.startsWith("djangostack.gate")), `${p} carries no exit-code gate`);
    }
    assert.ok(migrate.options.dependsOn.includes(oneOffRun("postgres-init").name), "migrations wait for the database init to have run");
    for (const p of ["web-worker-default", "web-beat"]) assert.ok(container(p).options.dependsOn.includes(container("web-web").name), `${p} rolls only after web is healthy`);
  });

  it("routes nginx only to web containers the cutover found healthy, never by network alias", () => {
    const web = container("web-web");
    const nginx = container("nginx");
    const cutover = ev.engine.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-web-web-cutover"));
    assert.ok(cutover, "no cutover for the web upstream");
    assert.deepEqual(cutover.inputs.triggers, [fakeContainerId(web)], "a new web container runs the cutover again");
    assert.ok(cutover.options.dependsOn.includes(web.name), "the cutover waits for the new container (created only once healthy)");
    assert.ok(nginx.options.dependsOn.includes(cutover.name), "nginx starts after the first upstream file exists");
    const script = String(cutover.inputs.create);
    assert.match(script, /docker inspect --format '\{\{if \.State\.Health\}\}/, "health is checked again before any switch");
    assert.match(script, /server local-docker-web-web-[0-9a-f]{7}:8000 resolve;/, "the upstream names the container, not the alias");
    assert.match(script, /docker exec 'djangostack-local-nginx' nginx -s reload/);
    const upstreams = volumesOf(nginx).find((v) => v.containerPath === "/etc/nginx/upstreams");
    assert.ok(upstreams?.readOnly, "nginx mounts the upstream files read-only");
    assert.equal(upstreams.volumeName, "djangostack-local-nginx-upstreams");
    const conf = ev.artifacts.find((a) => a.path === "nginx/nginx.conf")?.content ?? "";
    assert.match(conf, /include \/etc\/nginx\/upstreams\/web-web\.conf;/);
    assert.doesNotMatch(conf, /upstream web-web \{/, "no inline upstream that resolves the alias");
  });

  it("restarts a hung app process: the healthcheck probes liveness (healthPath) to stop it, and reports readiness (readyPath)", () => {
    for (const p of ["web-web", "web-worker-default", "web-beat", "nginx"]) {
      const c = container(p);
      assert.equal(c.inputs.init, true, `${p}: docker-init as PID 1, so the watchdog's signals reach the app`);
      const [kind, script] = (c.inputs.healthcheck as { tests: string[] }).tests;
      assert.equal(kind, "CMD-SHELL", p);
      assert.match(script, /\/tmp\/\.djangostack-liveness/, `${p}: counts liveness failures`);
      assert.match(script, /sig TERM/, p);
    }
    const web = (container("web-web").inputs.healthcheck as { tests: string[] }).tests[1];
    assert.match(web, /\/api\/v1\/health\//, "liveness probes the app's healthPath");
    assert.match(web, /\/readyz\//, "readiness probes the readyPath");
    for (const p of ["postgres", "redis", "rabbitmq"]) {
      const c = container(p);
      assert.equal(c.inputs.init, undefined, `${p} is never killed by a watchdog: crash recovery can take longer than any probe`);
      assert.equal((c.inputs.healthcheck as { tests: string[] }).tests[0], "CMD", p);
    }
  });

  it("runs exactly one beat and starts new web containers healthy before the old ones go", () => {
    assert.equal(containers().filter((c) => labelsOf(c)["djangostack.role"] === "beat").length, 1);
    const web = container("web-web");
    assert.equal(web.inputs.wait, true, "web waits for its health check");
    assert.equal(web.options.deleteBeforeReplace, false, "web is replaced create-before-delete");
    assert.equal(web.inputs.name, undefined, "web is auto-named so old and new can coexist");
    assert.equal(container("postgres").options.deleteBeforeReplace, true);
  });

  it("gives every long-running container a health check, restart policy, log rotation and a memory limit", () => {
    for (const c of containers()) {
      const process = labelsOf(c)["djangostack.process"];
      if (c.inputs.start === false) continue;
      // The exporters' images (scratch, distroless) have no client to probe with; Prometheus sees a hung one as up == 0.
      if (labelsOf(c)["djangostack.role"] === "exporter") {
        assert.equal(c.inputs.healthcheck, undefined, process);
        assert.deepEqual(c.inputs.ports, [], `${process} publishes nothing`);
        continue;
      }
      const hc = c.inputs.healthcheck as { tests: string[] } | undefined;
      assert.ok(hc && hc.tests.length > 1, `${process} has no health check`);
      assert.equal(c.inputs.restart, "unless-stopped", process);
      assert.deepEqual(c.inputs.logOpts, { "max-size": "10m", "max-file": "5" }, process);
      assert.ok(Number(c.inputs.memory) > 0, process);
    }
    assert.equal(container("nginx").inputs.user, "101:101");
    for (const c of containers()) {
      // Docker cannot copy uploads into a read-only root: those containers must stay writable.
      const uploads = (c.inputs.uploads ?? []) as unknown[];
      if (containsSecret(c.inputs.uploads) || uploads.length > 0) assert.notEqual(c.inputs.readOnly, true, `${labelsOf(c)["djangostack.process"]} gets uploads on a read-only root`);
    }
    for (const p of ["web-worker-default", "web-beat", "web-migrate", "postgres"]) assert.equal(container(p).inputs.readOnly, true, `${p} runs on a read-only root`);
    assert.deepEqual(container("web-web").inputs.capabilities, { drops: ["ALL"] });
  });

  it("rotates Postgres credentials without replacing the server: the init sets them over the shared socket", () => {
    const pg = container("postgres");
    const init = container("postgres-init");
    // The container holds only initdb's bootstrap password, which never rotates.
    assert.notEqual(envOf(pg).POSTGRES_PASSWORD, envOf(init).POSTGRES_SUPERUSER_PASSWORD);
    assert.equal(envOf(init).PGHOST, "/var/run/postgresql");
    assert.equal(envOf(init).PGPASSWORD, undefined, "the init does not log in with a password a rotation may have changed");
    const socketOf = (c: RecordedResource) => ((c.inputs.volumes ?? []) as { volumeName: string; containerPath: string }[]).find((v) => v.containerPath === "/var/run/postgresql")?.volumeName;
    assert.equal(socketOf(init), socketOf(pg), "server and init share the socket directory");
    assert.equal(socketOf(pg), "djangostack-local-postgres-socket");
    assert.ok(!String(init.inputs.command).includes("pw_"), "no password variable on psql's command line");
  });

  it("keeps data and media volumes when the stack is destroyed or an app is removed", () => {
    for (const name of ["postgres-data", "redis-data", "rabbitmq-data", "media-web"]) {
      const volume = ev.engine.resources.find((r) => r.inputs.name === `djangostack-local-${name}`);
      assert.equal(volume?.options.retainOnDelete, true, `${name} is deleted with its resource`);
    }
    // Rebuilt on every release: nothing is lost with them.
    for (const name of ["static-web", "postgres-socket"]) {
      const volume = ev.engine.resources.find((r) => r.inputs.name === `djangostack-local-${name}`);
      assert.notEqual(volume?.options.retainOnDelete, true, name);
    }
  });

  it("exports the v1 outputs contract with connection strings only as secrets", async () => {
    const masked = (await resolveOutputs(ev.exports)) as Record<string, unknown>;
    assert.equal(masked.outputsVersion, "v1");
    assert.equal(masked.target, "docker");
    assert.equal(masked.url, "http://127.0.0.1:8080");
    assert.equal(masked.healthUrl, "http://127.0.0.1:8080/api/v1/health/");
    const web = (masked.apps as Record<string, Record<string, unknown>>).web;
    assert.deepEqual(web.database, { name: "web_db", user: "web_user" });
    assert.equal(web.databaseUrl, "[secret]");
    assert.equal(web.brokerUrl, "[secret]");
    assert.equal(web.redisUrl, "[secret]");
    assert.match(String((masked.images as Record<string, string>).web), /^djangostack-local-web:local$/);
  });
});

describe("npm run render -- --stack local", () => {
  it("writes resources.json, plan.txt, graph.mmd, outputs.json and the rendered files, with no secret value", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    try {
      await renderStack({ stack: "local", outDir: out });
      const dir = path.join(out, "local");
      for (const f of ["resources.json", "plan.txt", "graph.mmd", "outputs.json", "artifacts/nginx/nginx.conf", "artifacts/gunicorn/web.gunicorn.conf.py", "artifacts/postgres/init.sql", "artifacts/rabbitmq/definitions.json", "artifacts/redis/redis.conf"]) {
        assert.ok(fs.existsSync(path.join(dir, f)), `${f} missing`);
      }
      const resources = JSON.parse(fs.readFileSync(path.join(dir, "resources.json"), "utf8")) as { type: string; name: string; parent: string | null }[];
      assert.ok(resources.some((r) => r.type === "djangostack:docker:Realizer" && r.parent === null), "components are recorded at the root");
      const tierOf = (process: string) => resources.find((r) => r.type === "docker:index/container:Container" && r.name === `local-docker-${process}`)?.parent;
      assert.deepEqual(["postgres", "web-web", "nginx"].map(tierOf), ["local-docker-data", "local-docker-app", "local-docker-edge"], "containers are grouped by tier");
      assert.ok(resources.some((r) => r.type === "djangostack:data:Docker" && r.parent === "local-docker"), "tiers are children of the realizer");
      const everything = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile()).map((f) => fs.readFileSync(path.join(dir, f), "utf8")).join("\n");
      assert.ok(!everything.includes("offline"), "a generated password leaked into the render");
      assert.ok(everything.includes("[secret]"));
      assert.match(fs.readFileSync(path.join(dir, "plan.txt"), "utf8"), /djangostack:secrets:Secrets {2}local-secrets/);
      assert.match(fs.readFileSync(path.join(dir, "graph.mmd"), "utf8"), /^graph TD/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("local stack with a domain and operator-provided TLS files", () => {
  it("publishes HTTPS, mounts the certificate read-only and renders TLS server blocks for the domain", async () => {
    const tlsEv = await evaluateStack({
      stack: "local",
      extraConfig: { "djangostack:domain": "shop.example.test", "djangostack:edge": { tls: { mode: "files", certificatePath: "/etc/ssl/shop/fullchain.pem", keyPath: "/etc/ssl/shop/privkey.pem" } } },
    });
    const nginx = tlsEv.engine.resources.find((r) => r.type === "docker:index/container:Container" && String(r.inputs.name).endsWith("-nginx"));
    assert.ok(nginx);
    assert.deepEqual(nginx.inputs.ports, [
      { internal: 8080, external: 8080, ip: "127.0.0.1" },
      { internal: 8443, external: 8443, ip: "127.0.0.1" },
    ]);
    const volumes = nginx.inputs.volumes as { hostPath?: string; containerPath: string; readOnly: boolean }[];
    assert.ok(volumes.some((v) => v.hostPath === "/etc/ssl/shop/privkey.pem" && v.containerPath === "/etc/ssl/shop/privkey.pem" && v.readOnly));
    const conf = tlsEv.artifacts.find((a) => a.path === "nginx/nginx.conf")?.content ?? "";
    assert.match(conf, /ssl_certificate\s+\/etc\/ssl\/shop\/fullchain\.pem;/);
    assert.match(conf, /server_name\s+shop\.example\.test/);
    const web = tlsEv.engine.resources.find((r) => r.type === "docker:index/container:Container" && (r.inputs.labels as { label: string; value: string }[]).some((l) => l.value === "web-web"));
    const env = (unwrapSecrets(web?.inputs.envs) as string[]).filter((e) => e.startsWith("CSRF_TRUSTED_ORIGINS=") || e.startsWith("DJANGO_SECURE_COOKIES="));
    assert.deepEqual(env.sort(), ["CSRF_TRUSTED_ORIGINS=https://shop.example.test", "DJANGO_SECURE_COOKIES=true"]);
  });
});
