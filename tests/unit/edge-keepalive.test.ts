/**
 * Issue 8 item 14: the DigitalOcean Load Balancer reuses its connections to nginx (backend keepalive)
 * for up to its HTTP idle timeout. nginx must not close an idle one first, or the LB's next request on
 * it fails. Read from the production stack as rendered: the Service annotations and the nginx.conf.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluateStack } from "../../src/offline/render";

const LB = "service.beta.kubernetes.io/do-loadbalancer-";

describe("production edge: nginx outlasts the load balancer's idle backend connections", () => {
  it("renders keepalive_timeout above the LB's http-idle-timeout-seconds, with backend keepalive on", async () => {
    const ev = await evaluateStack({ stack: "production" });
    const lb = ev.engine.resources.filter((r) => r.type === "kubernetes:core/v1:Service" && (r.inputs.spec as { type?: string }).type === "LoadBalancer");
    assert.equal(lb.length, 1);
    const annotations = (lb[0].inputs.metadata as { annotations: Record<string, string> }).annotations;
    assert.equal(annotations[`${LB}enable-backend-keepalive`], "true", "the LB reuses connections to nginx");
    // The CCM's default idle timeout is 60 s when the annotation is absent.
    const idle = Number(annotations[`${LB}http-idle-timeout-seconds`] ?? 60);
    const conf = ev.engine.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && typeof (r.inputs.data as Record<string, unknown> | undefined)?.["nginx.conf"] === "string");
    assert.equal(conf.length, 1);
    const m = /^\s*keepalive_timeout ([0-9]+)s;$/m.exec((conf[0].inputs.data as Record<string, string>)["nginx.conf"]);
    assert.ok(m, "nginx.conf sets keepalive_timeout in seconds");
    assert.ok(Number(m[1]) > idle, `nginx closes idle connections after ${m[1]}s, the LB keeps them ${idle}s`);
  });
});
