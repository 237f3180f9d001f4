/**
 * Issue 13 item 6: the Droplet's signals. Uptime checks on each app's public health URL and on the
 * host's container status, their alerts and the host's Monitoring alerts to droplet.alertEmails, the
 * warning when nobody would hear them, and the host-side status install (a secret on stdin).
 */
import { before, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { OFFLINE_RESERVED_IP } from "../../src/offline/fakes-droplet";
import { NO_ALERT_DESTINATION, stackWarnings } from "../../src/config/capacity";
import { HOST_STATUS } from "../../src/render/host-status";
import { exactApps } from "../helpers/stack-apps";
import { onDroplet, refuses } from "./config-helpers";
import { replacementOf } from "../../src/offline/impact";
import { UPTIME_REGIONS } from "../../src/components/targets/droplet/signals";

const CHECK = "digitalocean:index/uptimeCheck:UptimeCheck";
const ALERT = "digitalocean:index/uptimeAlert:UptimeAlert";
const MONITOR = "digitalocean:index/monitorAlert:MonitorAlert";
const COMMAND = "command:remote:Command";
const ofType = (e: Evaluation, type: string): RecordedResource[] => e.engine.resources.filter((r) => r.type === type);
const byName = (e: Evaluation, name: string): RecordedResource => {
  const r = e.engine.resources.find((x) => x.name === name);
  assert.ok(r, `no resource ${name}: ${e.engine.resources.map((x) => x.name).join(", ")}`);
  return r;
};
const DROPLET = { sshKeys: ["aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"], adminCidrs: ["198.51.100.7/32"] };

describe("Droplet signals (offline engine, stack staging)", () => {
  // The offline engine takes no log message attached to a resource (the no-destination warning is one).
  const warn = mock.method(pulumi.log, "warn", () => Promise.resolve());
  before(() => warn.mock.resetCalls());
  it("checks each app's public health URL over https from every region, with down, latency and certificate alerts to alertEmails", async () => {
    const e = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:droplet": { ...DROPLET, alertEmails: ["ops@example.com", "oncall@example.com"] } } });
    const web = byName(e, "staging-signals-web-health");
    assert.deepEqual(
      { target: web.inputs.target, type: web.inputs.type, regions: web.inputs.regions, enabled: web.inputs.enabled },
      // The staging app answers on its own host; nginx passes /_djangostack/web/health/ to its healthPath.
      { target: "https://api.staging.example.com/_djangostack/web/health/", type: "https", regions: [...UPTIME_REGIONS], enabled: true },
    );
    const alerts = ofType(e, ALERT).filter((a) => a.name.startsWith("staging-signals-web-health-"));
    assert.deepEqual(
      alerts.map((a) => [a.inputs.type, a.inputs.comparison, a.inputs.threshold, a.inputs.period]),
      [["down", undefined, undefined, "2m"], ["latency", "greater_than", 2000, "5m"], ["ssl_expiry", "less_than", 14, "10m"]],
    );
    const moved = { ...alerts[0], inputs: { ...alerts[0].inputs, checkId: "another-check" } };
    assert.deepEqual(replacementOf(alerts[0], moved).replaced, ["checkId"], "a new check brings a new alert");
    assert.deepEqual(replacementOf(web, { ...web, inputs: { ...web.inputs, target: "https://elsewhere.example.com/" } }).replaced, [], "a check's URL changes in place");
    for (const a of alerts) {
      assert.equal(a.inputs.checkId, "staging-signals-web-health-id", "each alert belongs to the app's check");
      assert.deepEqual(a.inputs.notifications, [{ emails: ["ops@example.com", "oncall@example.com"] }]);
      assert.deepEqual(a.options.replaceOnChanges, ["checkId"], "the API addresses an alert by its check: a new check needs a new alert");
    }
    const monitors = ofType(e, MONITOR);
    assert.deepEqual(monitors.map((m) => [m.inputs.type, m.inputs.value, m.inputs.window, m.inputs.enabled]), [
      ["v1/insights/droplet/cpu", 85, "10m", true],
      ["v1/insights/droplet/memory_utilization_percent", 90, "10m", true],
      ["v1/insights/droplet/disk_utilization_percent", 85, "5m", true],
      // s-2vcpu-4gb: twice its 2 vCPUs.
      ["v1/insights/droplet/load_5", 4, "10m", true],
    ]);
    for (const m of monitors) {
      assert.deepEqual(m.inputs.alerts, { emails: ["ops@example.com", "oncall@example.com"] });
      assert.deepEqual(m.inputs.tags, ["djangostack-djangostack-staging"]);
    }
    const out = (await resolveOutputs(e.exports)) as Record<string, string>;
    assert.match(out.monitoring, /web health at https:\/\/api\.staging\.example\.com\/_djangostack\/web\/health\//);
    assert.match(out.monitoring, /container health/);
    assert.match(out.monitoring, /alerts to ops@example\.com, oncall@example\.com/);
    assert.doesNotMatch(out.monitoring, /NO (HOST )?ALERTS/);
  });

  it("the container-status check's URL and the host install carry a secret token, on stdin, never in argv", async () => {
    const e = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:droplet": { ...DROPLET, alertEmails: ["ops@example.com"] } } });
    const check = byName(e, "staging-signals-containers");
    assert.ok(isWireSecret(check.inputs.target), "the status URL is secret");
    const target = String(unwrapSecrets(check.inputs.target));
    const m = new RegExp(`^https://staging\\.example\\.com${HOST_STATUS.urlPrefix}([A-Za-z0-9]{40})$`).exec(target);
    assert.ok(m, target);
    const token = m[1];
    assert.deepEqual(ofType(e, ALERT).filter((a) => a.name.startsWith("staging-signals-containers-")).map((a) => [a.inputs.type, a.inputs.period]), [["down", "5m"]]);
    const install = byName(e, "staging-signals-status-install");
    assert.equal(install.type, COMMAND);
    assert.equal(install.inputs.create, "sudo sh -s");
    assert.ok(isWireSecret(install.inputs.stdin));
    const stdin = String(unwrapSecrets(install.inputs.stdin));
    assert.ok(stdin.includes(`'${token}' > ${HOST_STATUS.tokenFile}`), "the install writes the check's token");
    assert.match(stdin, /systemctl enable djangostack-container-status\.timer/);
    assert.ok(!JSON.stringify([install.inputs.create, install.inputs.update, install.inputs.triggers]).includes(token));
    // nginx serves the status dir, bind-mounted read-only, and starts only after the install.
    const nginx = e.engine.resources.find((r) => r.type === "docker:index/container:Container" && /-nginx$/.test(r.name));
    assert.ok(nginx);
    assert.ok((nginx.inputs.volumes as { hostPath?: string; containerPath: string; readOnly: boolean }[]).some((v) => v.hostPath === HOST_STATUS.hostDir && v.containerPath === HOST_STATUS.containerDir && v.readOnly));
    assert.ok(nginx.options.dependsOn.some((d) => d.includes("staging-signals-status-install")), nginx.options.dependsOn.join(", "));
    const conf = e.artifacts.find((a) => a.path === "nginx/nginx.conf")?.content ?? "";
    assert.match(conf, new RegExp(`location \\^~ ${HOST_STATUS.urlPrefix} \\{\\s*alias ${HOST_STATUS.containerDir}/;`));
    assert.ok(!e.artifacts.some((a) => a.content.includes(token)), "no artifact holds the token");
  });

  it("no domain: plain http checks on the reserved IP, no certificate alert", async () => {
    const e = await evaluateStack({ stack: "staging", extraConfig: { ...exactApps([{ name: "web" }]), "djangostack:domain": "", "djangostack:edge": { tls: { mode: "none" } }, "djangostack:droplet": { ...DROPLET, alertEmails: ["ops@example.com"] } } });
    const web = byName(e, "staging-signals-web-health");
    assert.deepEqual([web.inputs.target, web.inputs.type], [`http://${OFFLINE_RESERVED_IP}/_djangostack/web/health/`, "http"]);
    assert.deepEqual(ofType(e, ALERT).filter((a) => a.name.startsWith("staging-signals-web-health-")).map((a) => a.inputs.type), ["down", "latency"]);
    assert.equal(String(unwrapSecrets(byName(e, "staging-signals-containers").inputs.target)).startsWith(`http://${OFFLINE_RESERVED_IP}${HOST_STATUS.urlPrefix}`), true);
  });

  it("no alert destination: checks stay, no alert is created, and the render and the output say so", async () => {
    const e = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:droplet": { ...DROPLET, alertEmails: [] } } });
    assert.equal(ofType(e, ALERT).length, 0);
    assert.equal(ofType(e, MONITOR).length, 0);
    assert.equal(ofType(e, CHECK).length, 2, "the app's check and the containers' check");
    assert.ok(stackWarnings(e.config).includes(NO_ALERT_DESTINATION));
    assert.ok(warn.mock.calls.some((c) => c.arguments[0] === NO_ALERT_DESTINATION), "pulumi up warns too");
    assert.match(NO_ALERT_DESTINATION, /^droplet\.alertEmails: no alert destination is configured/);
    const out = (await resolveOutputs(e.exports)) as Record<string, string>;
    assert.match(out.monitoring, /NO ALERTS: droplet\.alertEmails is empty/);
    assert.match(out.monitoring, /NO HOST ALERTS/);
  });

  it("local and production get neither the status location nor uptime checks", async () => {
    for (const stack of ["local", "production"]) {
      const e = await evaluateStack({ stack });
      assert.equal(ofType(e, CHECK).length, 0, stack);
      assert.ok(!e.artifacts.some((a) => a.path.includes("nginx") && a.content.includes(HOST_STATUS.urlPrefix)), stack);
    }
  });
});

describe("alert destinations in config", () => {
  refuses([["an invalid alert email", onDroplet({ alertEmails: ["ops@example.com", "not an email"] }), "djangostack:droplet.alertEmails[1]", "got \"not an email\"; expected email addresses"]]);
});
