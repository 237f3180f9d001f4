/**
 * Issue 16 item 2: service-to-service calls. `apps[].calls` names the apps an app calls; its processes
 * get each one's internal URL, and on Kubernetes NetworkPolicies allow exactly those calls: the
 * callee's web pods admit the caller's pods on the web port, the caller's pods may reach them, and no
 * other app's pods may.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { id, refuses } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const services = (calls: Raw = {}): Raw[] => [
  { name: "auth", build: "./app", routes: ["/api/auth/"], workers: [], beat: false },
  { name: "ticket", build: "./app", routes: ["/api/tickets/"], port: 8001, workers: [], beat: false },
  { name: "workflow", build: "./app", routes: ["/api/workflow/"], calls: ["auth", "ticket"], ...calls },
  { name: "messaging", build: "./app", routes: ["/api/messages/"], workers: [], beat: false },
];

describe("apps[].calls in config and the model", () => {
  it("hands every process of the caller each callee's internal URL: its web process's name and port", () => {
    const m = buildModel(parseConfig({ apps: services() }, id));
    const workflow = m.processes.filter((p) => p.app === "workflow");
    assert.ok(workflow.some((p) => p.role === "worker") && workflow.some((p) => p.role === "beat"));
    for (const p of workflow) {
      assert.equal(p.env.AUTH_SERVICE_URL, "http://auth-web:8000", p.name);
      assert.equal(p.env.TICKET_SERVICE_URL, "http://ticket-web:8001", p.name);
    }
    const others = m.processes.filter((p) => p.app && p.app !== "workflow");
    assert.ok(others.every((p) => p.env.AUTH_SERVICE_URL === undefined && p.env.TICKET_SERVICE_URL === undefined), "only the caller gets them");
  });

  refuses([
    ["a call to no such app", { apps: services({ calls: ["billing"] }) }, "djangostack:apps[2].calls[0]", "no such app; apps are auth, ticket, workflow, messaging"],
    ["a call to itself", { apps: services({ calls: ["workflow"] }) }, "djangostack:apps[2].calls[0]", "an app reaches itself without a call; name another app"],
    ["a call named twice", { apps: services({ calls: ["auth", "auth"] }) }, "djangostack:apps[2].calls[1]", "named twice"],
    ["a URL its env already sets", { apps: services({ env: { AUTH_SERVICE_URL: "http://elsewhere" } }) }, "djangostack:apps[2].calls[0]", "the app's env already sets AUTH_SERVICE_URL"],
  ]);
});

describe("apps[].calls on Kubernetes", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "production", extraConfig: exactApps(services()) });
  });
  const policy = (name: string): RecordedResource | undefined => ev.engine.resources.find((r) => r.type === NETPOL && (r.inputs.metadata as { name?: string }).name === name);
  type Rule = { from?: { podSelector: unknown }[]; to?: { podSelector: unknown }[]; ports: { port: number; protocol: string }[] };
  const spec = (r: RecordedResource | undefined) => r?.inputs.spec as { podSelector: unknown; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
  const appPods = (apps: string[]) => ({ matchExpressions: [{ key: "djangostack.io/app", operator: "In", values: apps }, { key: "djangostack.io/role", operator: "In", values: ["web", "worker", "beat", "migrate", "job"] }] });

  it("each callee's web admits exactly its callers' pods, on its web port", () => {
    const auth = spec(policy("auth-web-from-callers"));
    assert.deepEqual(auth.policyTypes, ["Ingress"]);
    assert.deepEqual(auth.podSelector, { matchLabels: { "app.kubernetes.io/name": "auth-web", "app.kubernetes.io/instance": "production" } });
    assert.deepEqual(auth.ingress, [{ from: [{ podSelector: appPods(["workflow"]) }], ports: [{ protocol: "TCP", port: 8000 }] }]);
    assert.deepEqual(spec(policy("ticket-web-from-callers")).ingress?.[0].ports, [{ protocol: "TCP", port: 8001 }]);
  });

  it("the caller's pods may reach exactly the callees' web pods", () => {
    const calls = spec(policy("workflow-calls"));
    assert.deepEqual(calls.policyTypes, ["Egress"]);
    assert.deepEqual(calls.podSelector, appPods(["workflow"]));
    assert.deepEqual(calls.egress, [
      { to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "auth-web", "app.kubernetes.io/instance": "production" } } }], ports: [{ protocol: "TCP", port: 8000 }] },
      { to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "ticket-web", "app.kubernetes.io/instance": "production" } } }], ports: [{ protocol: "TCP", port: 8001 }] },
    ]);
  });

  it("both policies are valid NetworkPolicies (kubernetes-models, the upstream OpenAPI schema)", async () => {
    const NetworkPolicy = (await import("kubernetes-models/networking.k8s.io/v1/NetworkPolicy")).NetworkPolicy as unknown as new (data: Record<string, unknown>) => { validate(): void };
    for (const name of ["auth-web-from-callers", "ticket-web-from-callers", "workflow-calls"]) {
      const r = policy(name);
      assert.ok(r, name);
      new NetworkPolicy({ metadata: r.inputs.metadata, spec: r.inputs.spec }).validate();
    }
  });

  it("apps that call no one, and apps no one calls, get no such policy", () => {
    for (const name of ["messaging-web-from-callers", "workflow-web-from-callers", "auth-calls", "messaging-calls"]) assert.equal(policy(name), undefined, name);
  });
});
