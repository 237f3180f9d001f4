import { afterEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { evaluateStack } from "../../src/offline/render";
import { REGISTRY_CREDENTIALS, registryCredentialExpirySeconds } from "../../src/components/registry-credentials";

const DAY = 86_400;
const CREDS = "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials";
const at = (iso: string, plusDays = 0) => new Date(Date.parse(iso) + plusDays * DAY * 1000);

/**
 * terraform-provider-digitalocean's resource_container_registry_docker_credentials.go: Create reads
 * (credentials valid `expiry_seconds` from now); Update issues new ones only when expiry_seconds changed;
 * Read renews only expired ones, and only on refresh. Returns, per deploy, the days the credentials in
 * use have left right after it.
 */
function daysLeftAfterEachDeploy(deploys: Date[], expiryFor: (d: Date) => number): number[] {
  let state: { expirySeconds: number; expiresAt: number } | undefined;
  return deploys.map((d) => {
    const wanted = expiryFor(d);
    const now = d.getTime() / 1000;
    if (!state || state.expirySeconds !== wanted) state = { expirySeconds: wanted, expiresAt: now + wanted };
    return (state.expiresAt - now) / DAY;
  });
}

describe("DOCR credentials: bounded and renewed", () => {
  afterEach(() => mock.timers.reset());

  it("never issues credentials for longer than the lifetime (the provider's default is 50 years)", () => {
    for (let day = 0; day < 3000; day += 7) assert.ok(registryCredentialExpirySeconds(at("2026-01-01T00:00:00Z", day)) <= REGISTRY_CREDENTIALS.lifetimeDays * DAY);
  });

  it("keeps the same input within a renewal period (no churn, no pod roll) and changes it in the next one", () => {
    const start = at("2026-03-01T00:00:00Z");
    const period = REGISTRY_CREDENTIALS.renewEveryDays;
    const sameUntil = Math.floor(start.getTime() / 1000 / (period * DAY) + 1) * period * DAY - start.getTime() / 1000;
    assert.equal(registryCredentialExpirySeconds(start), registryCredentialExpirySeconds(new Date(start.getTime() + (sameUntil - 1) * 1000)));
    assert.notEqual(registryCredentialExpirySeconds(start), registryCredentialExpirySeconds(new Date(start.getTime() + (sameUntil + 1) * 1000)));
  });

  it("leaves the credentials in use valid for most of their lifetime after any deploy, however irregular the deploys", () => {
    const gaps = [0, 1, 29, 2, 31, 59, 61, 120, 1, 200, 5];
    let t = at("2026-01-10T12:00:00Z").getTime();
    const deploys = gaps.map((g) => new Date((t += g * DAY * 1000)));
    const left = daysLeftAfterEachDeploy(deploys, registryCredentialExpirySeconds);
    for (const [i, days] of left.entries()) {
      assert.ok(days >= REGISTRY_CREDENTIALS.lifetimeDays - REGISTRY_CREDENTIALS.renewEveryDays - 1, `deploy ${i}: ${days.toFixed(1)} days left`);
    }
  });

  it("gives both production credentials (push and the cluster's pull secret) that bounded, period-stamped expiry", async () => {
    mock.timers.enable({ apis: ["Date"], now: at("2026-05-05T00:00:00Z") });
    const first = (await evaluateStack({ stack: "production" })).engine.resources.filter((r) => r.type === CREDS);
    mock.timers.setTime(at("2026-05-05T00:00:00Z", REGISTRY_CREDENTIALS.renewEveryDays).getTime());
    const later = (await evaluateStack({ stack: "production" })).engine.resources.filter((r) => r.type === CREDS);
    assert.deepEqual(first.map((c) => c.inputs.write).sort(), [false, true]);
    for (const c of [...first, ...later]) assert.ok(Number(c.inputs.expirySeconds) <= REGISTRY_CREDENTIALS.lifetimeDays * DAY, `${c.name}: ${String(c.inputs.expirySeconds)}`);
    assert.notDeepEqual(first.map((c) => c.inputs.expirySeconds), later.map((c) => c.inputs.expirySeconds), "a deploy in the next period renews them");
  });
});
