import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { NO_ALERT_DESTINATION, capacityReport, stackWarnings } from "../../src/config/capacity";
import { DROPLET_RESERVE_MIB, appConnections, nodeReserve } from "../../src/model/capacity";
import { PRICES } from "../../src/config/prices";
import { readStackConfig } from "../../src/offline/render";
import { allExampleStacks, exampleDir } from "../helpers/examples";
import { id, onDroplet, problems } from "./config-helpers";

const check = (raw: Raw, what: string) => {
  const found = capacityReport(parseConfig(raw, id)).find((c) => c.what === what);
  assert.ok(found, `no ${what} check`);
  return found;
};

describe("capacity on a Droplet: memory limits + deploy surge + system reserve vs the Droplet", () => {
  it("adds up the default single-app stack on s-2vcpu-4gb and names every term", () => {
    // postgres 1024 + redis 256 + rabbitmq 512 + web 512 + worker 512 + beat 256 + nginx 128 + backup 128
    // + the nginx, postgres and redis exporters 3 x 32 + celery-exporter 128 = 3552; surge: the 512 MiB migration.
    const c = check(onDroplet(), "Droplet memory");
    assert.equal(c.used, 3552 + 512 + DROPLET_RESERVE_MIB);
    assert.equal(c.available, 4096);
    assert.match(c.detail, /container memory limits 3552 \+ deploy surge 512 \+ system reserve 512 on s-2vcpu-4gb \(4096 MiB, swap 2048 MiB\)/);
  });

  it("lets only a deploy's surge lean on swap: what runs all the time must fit in RAM", () => {
    // Steady 3552 + reserve 512 fits 4096; with the surge (4576) it needs the 2 GiB swap file: a near miss.
    assert.equal(check(onDroplet(), "Droplet memory").verdict, "warn");
    const refused = (raw: Raw) => problems(raw).some((p) => p.startsWith("djangostack:droplet.size:") && p.includes("Droplet memory"));
    assert.ok(refused(onDroplet({ swapGiB: 0 })), "no swap: the surge must fit in RAM");
    assert.ok(refused(onDroplet({}, { data: { postgres: { resources: { memory: "1536Mi" } } } })), "4064 + 512 steady exceeds RAM whatever the swap");
  });

  it("refuses a stack that does not fit, with the numbers and the fix", () => {
    const found = problems(onDroplet({ size: "s-1vcpu-2gb" })).find((p) => p.startsWith("djangostack:droplet.size:"));
    assert.ok(found, "no droplet.size problem");
    assert.match(found, /got "s-1vcpu-2gb"; Droplet memory: 4576 of 2048 MiB \(223%\).*does not fit: choose a larger droplet\.size/);
  });

  it("passes the same stack on s-4vcpu-8gb and warns on a near miss", () => {
    assert.equal(check(onDroplet({ size: "s-4vcpu-8gb" }), "Droplet memory").verdict, "ok");
    const near = onDroplet({}, { data: { postgres: { resources: { memory: "512Mi" } }, rabbitmq: { resources: { memory: "384Mi" } } } });
    const c = check(near, "Droplet memory");
    assert.deepEqual([c.used, c.verdict], [3936, "warn"]);
    assert.ok(stackWarnings(parseConfig(near, id)).some((w) => w.startsWith("droplet.size: Droplet memory: 3936 of 4096 MiB (96%)") && w.includes("a near miss")));
  });

  it("refuses one CPU limit above the Droplet's vCPUs and warns when the limits add up past twice them", () => {
    const raw = onDroplet({ size: "s-1vcpu-2gb" }, { apps: [{ resources: { cpu: "2", memory: "256Mi" }, workers: [], beat: false }], data: { postgres: { resources: { memory: "256Mi" } }, rabbitmq: { resources: { memory: "256Mi" } } } });
    const found = problems(raw).find((p) => p.includes("CPU limit of web-web"));
    assert.ok(found, problems(raw).join("\n"));
    assert.match(found, /2000 of 1000 millicores.*lower its resources\.cpu to at most 1000m/);
  });
});

describe("capacity on Kubernetes: requests at maximum replicas vs the workload pool at maxNodes after the per-node reserve", () => {
  it("uses the kubelet reserve tiers: an 8 GiB, 4 vCPU node keeps 1944 MiB and 80m", () => {
    // 100 eviction + 25% of 4096 + 20% of 4096 = 100 + 1024 + 819.2
    assert.deepEqual(nodeReserve(4, 8192), { memoryMiB: 1944, cpuMillis: 80 });
    assert.deepEqual(nodeReserve(2, 4096), { memoryMiB: 1124, cpuMillis: 70 });
  });

  it("counts autoscale.max, not replicas, and refuses a pool that cannot hold it", () => {
    const raw: Raw = {
      target: "kubernetes",
      domain: "example.com",
      apps: [{ replicas: 2, autoscale: { min: 2, max: 20 }, resources: { cpu: "500m", memory: "1Gi" } }],
      kubernetes: { workloadPool: { size: "s-2vcpu-4gb", minNodes: 1, maxNodes: 3 } },
      data: { postgres: { managedSize: "db-s-8vcpu-32gb" } },
    };
    const found = problems(raw).find((p) => p.startsWith("djangostack:kubernetes.workloadPool.maxNodes:"));
    assert.ok(found, problems(raw).join("\n"));
    // 3 nodes x (4096 - 1124 - 256) = 8148 MiB allocatable.
    assert.match(found, /workload pool memory requests: \d+ of 8148 MiB/);
    assert.match(found, /requests at maximum replicas \d+ \+ rollout surge \d+ on 3 node\(s\) of s-2vcpu-4gb/);
  });

  it("refuses a pod larger than one node", () => {
    const raw: Raw = { target: "kubernetes", domain: "example.com", apps: [{ resources: { memory: "6Gi" } }], kubernetes: { workloadPool: { size: "s-2vcpu-4gb", maxNodes: 10 } } };
    assert.ok(problems(raw).some((p) => p.startsWith("djangostack:kubernetes.workloadPool.size:") && p.includes("pod web-web: 6144 of 2716 MiB")));
  });
});

describe("PostgreSQL connections at maximum scale", () => {
  it("counts gunicorn workers x threads x autoscale.max + Celery concurrency + beat + release", () => {
    const config = parseConfig({ apps: [{ gunicorn: { workers: 3, threads: 4 }, replicas: 2, workers: [{ concurrency: 5, replicas: 2 }] }] }, id);
    assert.deepEqual(appConnections(config, config.apps[0], PRICES), { app: "web", web: 24, workers: 10, beat: 1, release: 1, total: 36 });
  });

  it("derives gunicorn's worker count as gunicorn.conf.py does: (2 x CPUs) + 1, capped by memory", () => {
    const config = parseConfig({ apps: [{ resources: { cpu: "2", memory: "2Gi" } }] }, id);
    assert.equal(appConnections(config, config.apps[0], PRICES).web, 5);
  });

  it("refuses more connections than max_connections leaves to the apps", () => {
    const raw: Raw = { apps: [{ replicas: 1, gunicorn: { workers: 10, threads: 4 } }], data: { postgres: { maxConnections: 40 } } };
    const found = problems(raw).find((p) => p.startsWith("djangostack:data.postgres.maxConnections:"));
    assert.ok(found, problems(raw).join("\n"));
    assert.match(found, /got 40; PostgreSQL connections: 46 of 37 connections.*web: web 40 \+ Celery 2 \+ beat 1 \+ release 1; init 1 \+ backup 1 = 46 of max_connections 40 - 3 superuser-reserved/);
  });

  it("holds each app to its PgBouncer pool on managed PostgreSQL", () => {
    const raw: Raw = { target: "kubernetes", domain: "example.com", apps: [{ replicas: 3, autoscale: { min: 3, max: 10 }, gunicorn: { workers: 3, threads: 2 } }], data: { postgres: { managedSize: "db-s-1vcpu-2gb" } } };
    const found = problems(raw).find((p) => p.startsWith("djangostack:data.postgres.managedSize:"));
    assert.ok(found, problems(raw).join("\n"));
    // 25 x 2 GiB - 3 = 47 backends, 80% to the one app's pool: 37.
    assert.match(found, /PostgreSQL pool of web: 64 of 37 connections/);
  });
});

describe("Redis maxmemory vs its container", () => {
  it("warns above 85% of the container and passes the 75% default", () => {
    assert.equal(check({}, "Redis maxmemory").verdict, "ok");
    assert.equal(check({ data: { redis: { maxMemory: 240 } } }, "Redis maxmemory").verdict, "warn");
  });
});

describe("every stack and example fits its machines", () => {
  for (const { label, stack, projectDir } of [...["local", "staging", "production"].map((stack) => ({ label: stack, stack, projectDir: undefined })), ...allExampleStacks()]) {
    it(`${label}: no capacity check fails`, () => {
      const report = capacityReport(readStackConfig({ stack, projectDir }));
      assert.deepEqual(report.filter((c) => c.verdict === "fail"), []);
    });
  }

  it("seed 002's five services on the 4 GiB Droplet are a near miss, not a failure", () => {
    const memory = capacityReport(readStackConfig({ stack: "production", projectDir: exampleDir("ticket-tracking") })).find((c) => c.what === "Droplet memory");
    assert.deepEqual([memory?.used, memory?.verdict], [4256, "warn"]);
  });
});

describe("settings a target cannot honour are warned about, never dropped", () => {
  it("warns on autoscale and a volume size on a Droplet, and on missing alert destinations", () => {
    const warnings = stackWarnings(parseConfig(onDroplet({ size: "s-8vcpu-16gb" }, { apps: [{ autoscale: { min: 1, max: 3 } }], data: { postgres: { volumeSize: 50 } } }), id));
    assert.ok(warnings.some((w) => w.startsWith("apps[0].autoscale: target \"droplet\" runs a fixed 1 web container(s)")), warnings.join("\n"));
    assert.ok(warnings.some((w) => w.startsWith("data.postgres.volumeSize: 50 GiB is ignored on target \"droplet\"")));
    assert.ok(warnings.includes(NO_ALERT_DESTINATION), warnings.join("\n"));
  });
});
