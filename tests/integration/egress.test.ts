/**
 * Issue 16 item 4: the egress script the Droplet receives (decoded from the install command `pulumi up`
 * runs over SSH), run as root in a network namespace of its own that looks like a Droplet's: eth0 with
 * a public and an anchor address, a default route through the public gateway, and a stand-in for the
 * Droplet Metadata API on 169.254.169.254:80 (Python's http.server over files laid out like its paths).
 * The routes are the kernel's, read back with `ip route`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { egressInstallCommand, renderEgressScript } from "../../src/render/egress";
import { PYTHON, requireBinary, run, tempDir, useHarness } from "./harness/process";

useHarness();

const PUBLIC = { address: "203.0.113.10", gateway: "203.0.113.1" };
const ANCHOR = { address: "10.17.0.5", gateway: "10.17.0.1" };

/** The script as the install command carries it (base64 into /usr/local/lib/djangostack/egress). */
function installedScript(): string {
  const line = egressInstallCommand().split("\n").find((l) => l.includes("/usr/local/lib/djangostack/egress") && l.includes("base64 -d"));
  const b64 = line && /printf '%s' '([A-Za-z0-9+/=]+)'/.exec(line)?.[1];
  assert.ok(b64, "the install command writes the script");
  return Buffer.from(b64, "base64").toString("utf8");
}

/**
 * One namespace, several steps: each step sets the metadata (`active`, or `down` to stop the server),
 * runs the script with its args, and records its exit status, output and the default route.
 */
async function inDroplet(steps: { metadata: "active" | "inactive" | "broken" | "down"; args?: string[] }[]): Promise<{ status: number; output: string; route: string }[]> {
  requireBinary("/usr/bin/unshare", "util-linux");
  requireBinary("/usr/bin/curl", "curl");
  requireBinary("/usr/sbin/ip", "iproute2");
  const dir = tempDir("egress");
  const script = path.join(dir, "egress");
  fs.writeFileSync(script, installedScript(), { mode: 0o755 });
  const md = path.join(dir, "md", "metadata", "v1");
  const write = (rel: string, value: string) => {
    fs.mkdirSync(path.dirname(path.join(md, rel)), { recursive: true });
    fs.writeFileSync(path.join(md, rel), value);
  };
  write("interfaces/public/0/ipv4/address", PUBLIC.address);
  write("interfaces/public/0/ipv4/gateway", PUBLIC.gateway);
  write("interfaces/public/0/anchor_ipv4/address", ANCHOR.address);
  write("interfaces/public/0/anchor_ipv4/gateway", ANCHOR.gateway);
  const lines = [
    "set -u",
    "ip link set lo up",
    "ip link add eth0 type veth peer name peer0",
    `ip addr add ${PUBLIC.address}/20 dev eth0`,
    `ip addr add ${ANCHOR.address}/16 dev eth0`,
    "ip link set eth0 up; ip link set peer0 up",
    `ip route add default via ${PUBLIC.gateway} dev eth0`,
    "ip addr add 169.254.169.254/32 dev lo",
    `(cd ${dir}/md && exec ${PYTHON} -u -m http.server 80 --bind 169.254.169.254 > ${dir}/server.log 2>&1) & server=$!`,
    "for i in $(seq 100); do curl -fs --max-time 1 http://169.254.169.254/metadata/v1/interfaces/public/0/ipv4/address >/dev/null && break; sleep 0.1; done",
  ];
  steps.forEach((step, i) => {
    if (step.metadata === "down") lines.push("kill $server; wait $server 2>/dev/null");
    else {
      lines.push(`mkdir -p ${md}/reserved_ip/ipv4; printf %s ${step.metadata === "inactive" ? "false" : "true"} > ${md}/reserved_ip/ipv4/active`);
      if (step.metadata === "broken") lines.push(`printf '' > ${md}/interfaces/public/0/anchor_ipv4/gateway`);
    }
    lines.push(`${script} ${(step.args ?? []).join(" ")} > ${dir}/out-${i} 2>&1; echo $? > ${dir}/status-${i}; ip -4 route show default > ${dir}/route-${i}`);
  });
  lines.push("kill $server 2>/dev/null; true");
  const result = await run("unshare", ["--net", "sh", "-c", lines.join("\n")], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stderr);
  if (!fs.readFileSync(path.join(dir, "server.log"), "utf8").includes("Serving HTTP")) assert.fail(`the metadata stand-in did not start: ${fs.readFileSync(path.join(dir, "server.log"), "utf8")}`);
  return steps.map((_, i) => ({
    status: Number(fs.readFileSync(path.join(dir, `status-${i}`), "utf8")),
    output: fs.readFileSync(path.join(dir, `out-${i}`), "utf8"),
    route: fs.readFileSync(path.join(dir, `route-${i}`), "utf8").trim(),
  }));
}

describe("egress through the reserved IP (droplet.egress: reserved-ip)", () => {
  test("the install command carries the rendered script", () => {
    assert.equal(installedScript(), renderEgressScript());
  });

  test("routes through the anchor gateway while the reserved IP is assigned, and back when it is not", async () => {
    const [first, again, unassigned] = await inDroplet([{ metadata: "active" }, { metadata: "active" }, { metadata: "inactive" }]);
    assert.equal(first.status, 0, first.output);
    assert.equal(first.route, `default via ${ANCHOR.gateway} dev eth0 src ${ANCHOR.address}`);
    assert.match(first.output, /now leaves from 10\.17\.0\.5 \(reserved-ip\)/);
    assert.deepEqual([again.status, again.output, again.route], [0, "", first.route], "a second run changes nothing and says nothing");
    assert.equal(unassigned.status, 0, unassigned.output);
    assert.equal(unassigned.route, `default via ${PUBLIC.gateway} dev eth0 src ${PUBLIC.address}`);
  });

  test("`droplet-ip` (what removing it runs) puts the public gateway back while the reserved IP is still assigned", async () => {
    const [, restored] = await inDroplet([{ metadata: "active" }, { metadata: "active", args: ["droplet-ip"] }]);
    assert.equal(restored.status, 0, restored.output);
    assert.equal(restored.route, `default via ${PUBLIC.gateway} dev eth0 src ${PUBLIC.address}`);
  });

  test("leaves the route alone, and fails, when the metadata is unusable or unreachable", async () => {
    const [, broken, down] = await inDroplet([{ metadata: "inactive" }, { metadata: "broken" }, { metadata: "down" }]);
    const publicRoute = `default via ${PUBLIC.gateway} dev eth0`;
    assert.notEqual(broken.status, 0);
    assert.match(broken.output, /unexpected metadata/);
    assert.ok(broken.route.startsWith(publicRoute), broken.route);
    assert.notEqual(down.status, 0, "no metadata: no change");
    assert.ok(down.route.startsWith(publicRoute), down.route);
  });
});
