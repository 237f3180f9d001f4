import { problems as problemsOf } from "./config-helpers";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluateStack, Evaluation } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { CERTBOT_IMAGE } from "../../src/components/targets/docker/tls";
import { registryPinned } from "../helpers/registry";

/** Target docker on a server the user runs: images, edge, TLS and URL on the engine at docker.host. */
const SSH_HOST = "ssh://deploy@203.0.113.10";
const DOMAIN = "shop.example.com";
const EMAIL = "ops@example.com";

const IMAGE = "docker-build:index:Image";
const BUILD_PROVIDER = "pulumi:providers:docker-build";
const CONTAINER = "docker:index/container:Container";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
const LOCAL_COMMAND = "command:local:Command";

const ofType = (ev: Evaluation, type: string) => ev.engine.resources.filter((r) => r.type === type);
function labelsOf(r: RecordedResource): Record<string, string> {
  const labels = (unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[];
  return Object.fromEntries(labels.map((l) => [l.label, l.value]));
}
function container(ev: Evaluation, process: string): RecordedResource {
  const found = ofType(ev, CONTAINER).find((c) => labelsOf(c)["djangostack.process"] === process);
  assert.ok(found, `no container for ${process}`);
  return found;
}
const portsOf = (r: RecordedResource) => (r.inputs.ports ?? []) as { internal: number; external: number; ip: string }[];
const outputsOf = async (ev: Evaluation) => (await resolveOutputs(ev.exports)) as Record<string, unknown>;

const remote = (docker: Raw, extra: Record<string, unknown> = {}) => evaluateStack({ stack: "local", extraConfig: { "djangostack:docker": docker, ...extra } });
const letsEncrypt = () =>
  remote({ host: SSH_HOST, publish: "public" }, { "djangostack:domain": DOMAIN, "djangostack:edge": { tls: { mode: "letsencrypt", email: EMAIL } } });

describe("target docker on a remote docker.host", () => {
  it("builds each image with a docker-build Provider whose host is docker.host, for linux/amd64", async () => {
    const ev = await remote({ host: SSH_HOST });
    const providers = ofType(ev, BUILD_PROVIDER);
    assert.equal(providers.length, 1, "one docker-build provider");
    assert.equal(providers[0].inputs.host, SSH_HOST);
    const images = ofType(ev, IMAGE);
    assert.ok(images.length > 0, "no image is built");
    for (const image of images) {
      assert.equal(image.options.provider, providers[0].name, `${image.name} builds on the ambient engine, not on ${SSH_HOST}`);
      assert.equal(image.inputs.load, true, `${image.name} is not loaded into the engine`);
      assert.deepEqual(image.inputs.platforms, ["linux/amd64"], `${image.name} is built for the machine running pulumi, not the server`);
    }
  });

  it("builds for docker.platform when set", async () => {
    const ev = await remote({ host: SSH_HOST, platform: "linux/arm64" });
    for (const image of ofType(ev, IMAGE)) assert.deepEqual(image.inputs.platforms, ["linux/arm64"]);
  });

  it("never pulls a built image: the container runs the tag loaded into that engine", async () => {
    const ev = await remote({ host: SSH_HOST, publish: "public" });
    const pulls = ofType(ev, REMOTE_IMAGE).map((r) => String(r.inputs.name));
    assert.ok(!pulls.some((n) => n.startsWith("djangostack-local-")), `a loaded image is pulled: ${pulls.join(", ")}`);
    assert.equal(container(ev, "web-web").inputs.image, "djangostack-local-web:local");
  });

  it("keeps nginx on loopback 8080 unless docker.publish is public", async () => {
    const ev = await remote({ host: SSH_HOST });
    assert.deepEqual(portsOf(container(ev, "nginx")), [{ internal: 8080, external: 8080, ip: "127.0.0.1" }]);
    assert.equal((await outputsOf(ev)).url, "http://127.0.0.1:8080");
  });

  it("publishes nginx on 0.0.0.0:80 when public, and names the ssh host in the url", async () => {
    const ev = await remote({ host: SSH_HOST, publish: "public" });
    assert.deepEqual(portsOf(container(ev, "nginx")), [{ internal: 8080, external: 80, ip: "0.0.0.0" }]);
    const out = await outputsOf(ev);
    assert.equal(out.url, "http://203.0.113.10");
    assert.equal(out.healthUrl, "http://203.0.113.10/api/v1/health/");
  });

  it("names an IPv6 ssh host in brackets", async () => {
    const ev = await remote({ host: "ssh://deploy@[2001:db8::10]:2222", publish: "public" });
    assert.equal((await outputsOf(ev)).url, "http://[2001:db8::10]");
  });

  it("with Let's Encrypt: 0.0.0.0:80 and :443, the placeholder and certbot before nginx, the url on the domain", async () => {
    const ev = await letsEncrypt();
    const nginx = container(ev, "nginx");
    assert.deepEqual(portsOf(nginx), [
      { internal: 8080, external: 80, ip: "0.0.0.0" },
      { internal: 8443, external: 443, ip: "0.0.0.0" },
    ]);
    const placeholder = container(ev, "tls-placeholder");
    const certbot = container(ev, "certbot");
    assert.equal(placeholder.inputs.start, false, "the placeholder is a one-off run by a Command");
    assert.ok(ofType(ev, REMOTE_IMAGE).some((r) => r.inputs.name === registryPinned(CERTBOT_IMAGE)), "certbot's image is pulled on the server's engine, by digest");
    for (const dep of [certbot.name, "local-tls-placeholder-run"]) assert.ok(nginx.options.dependsOn.includes(dep), `nginx does not wait for ${dep}: ${nginx.options.dependsOn.join(", ")}`);
    assert.equal((await outputsOf(ev)).url, `https://${DOMAIN}`);
  });

  it("runs the activation reload and every one-off with the docker CLI against docker.host", async () => {
    const ev = await letsEncrypt();
    const commands = ofType(ev, LOCAL_COMMAND);
    const activate = commands.find((c) => c.name === "local-tls-activate");
    assert.ok(activate, `no activation command among ${commands.map((c) => c.name).join(", ")}`);
    assert.match(String(activate.inputs.create), /nginx -s reload/);
    for (const name of ["local-tls-activate", "local-tls-placeholder-run"]) {
      const command = commands.find((c) => c.name === name);
      assert.ok(command, `no ${name}`);
      assert.deepEqual(command.inputs.environment, { DOCKER_HOST: SSH_HOST }, `${name} talks to the wrong engine`);
    }
  });

  it("defaults to Let's Encrypt on a public edge with a domain, like the Droplet", async () => {
    const config = parseConfig({ domain: DOMAIN, docker: { host: SSH_HOST, publish: "public" }, edge: { tls: { email: EMAIL } } }, { project: "djangostack", stack: "local" });
    assert.equal(config.edge.tls.mode, "letsencrypt");
    assert.deepEqual([config.edge.httpPort, config.edge.httpsPort], [80, 443]);
  });

  it("with operator files: the certificate and key bind-mounted from the server, 443 public, no certbot", async () => {
    const ev = await remote(
      { host: SSH_HOST, publish: "public" },
      { "djangostack:domain": DOMAIN, "djangostack:edge": { tls: { mode: "files", certificatePath: "/etc/ssl/shop/fullchain.pem", keyPath: "/etc/ssl/shop/privkey.pem" } } },
    );
    const nginx = container(ev, "nginx");
    assert.deepEqual(portsOf(nginx).map((p) => `${p.ip}:${p.external}`), ["0.0.0.0:80", "0.0.0.0:443"]);
    const mounts = (nginx.inputs.volumes ?? []) as { hostPath?: string }[];
    for (const file of ["/etc/ssl/shop/fullchain.pem", "/etc/ssl/shop/privkey.pem"]) assert.ok(mounts.some((m) => m.hostPath === file), `${file} is not mounted`);
    assert.ok(!ofType(ev, CONTAINER).some((c) => labelsOf(c)["djangostack.role"] === "tls"), "no certbot with operator files");
    assert.equal((await outputsOf(ev)).url, `https://${DOMAIN}`);
  });
});

describe("the local stack is unchanged", () => {
  it("builds on the ambient engine with no docker-build provider, native platform, nginx on loopback 8080", async () => {
    const ev = await evaluateStack({ stack: "local" });
    assert.equal(ofType(ev, BUILD_PROVIDER).length, 0);
    for (const image of ofType(ev, IMAGE)) {
      assert.equal(image.options.provider, undefined);
      assert.equal(image.inputs.platforms, undefined, "a local build stays native");
    }
    assert.deepEqual(portsOf(container(ev, "nginx")), [{ internal: 8080, external: 8080, ip: "127.0.0.1" }]);
    assert.ok(!ofType(ev, CONTAINER).some((c) => labelsOf(c)["djangostack.role"] === "tls"));
    assert.equal((await outputsOf(ev)).url, "http://127.0.0.1:8080");
  });
});

const id = { project: "djangostack", stack: "local" };
const problems = (raw: Raw): string[] => problemsOf(raw, id);
const droplet = { sshKeys: ["aa:bb"], adminCidrs: ["203.0.113.7/32"] };
const le = { tls: { mode: "letsencrypt", email: EMAIL } };

/** Each refused combination, the key its message names, the value it shows and what it allows. */
const refused: [string, Raw, string, string, string][] = [
  ["Let's Encrypt on a loopback edge", { domain: DOMAIN, docker: { host: SSH_HOST }, edge: le }, "edge.tls.mode", '"letsencrypt"', 'docker.publish "public"'],
  ["Let's Encrypt on the local engine's loopback", { domain: DOMAIN, edge: le }, "edge.tls.mode", '"letsencrypt"', '"none" or "files"'],
  ["Let's Encrypt without a domain", { docker: { host: SSH_HOST, publish: "public" }, edge: le }, "edge.tls.mode", '"letsencrypt"', "needs djangostack:domain"],
  ["Let's Encrypt without an email", { domain: DOMAIN, docker: { host: SSH_HOST, publish: "public" }, edge: { tls: { mode: "letsencrypt" } } }, "edge.tls.email", "nothing", 'on target "docker"'],
  ["Let's Encrypt off port 80", { domain: DOMAIN, docker: { host: SSH_HOST, publish: "public" }, edge: { ...le, httpPort: 8080 } }, "edge.httpPort", "8080", "port 80 only"],
  ["tcp:// to a remote engine", { docker: { host: "tcp://203.0.113.10:2375" } }, "docker.host", '"tcp://203.0.113.10:2375"', "ssh://user@host"],
  ["tcp:// with TLS's usual port", { docker: { host: "tcp://docker.example.com:2376" } }, "docker.host", '"tcp://docker.example.com:2376"', "loopback"],
  ["an ssh:// host without a host name", { docker: { host: "ssh://:22" } }, "docker.host", '"ssh://:22"', "ssh://deploy@203.0.113.10"],
  ["an unknown publish mode", { docker: { publish: "everywhere" } }, "docker.publish", '"everywhere"', '"loopback", "public"'],
  ["an unknown platform", { docker: { host: SSH_HOST, platform: "windows/amd64" } }, "docker.platform", '"windows/amd64"', '"linux/amd64"'],
  ["docker.publish on a droplet", { target: "droplet", droplet, docker: { publish: "public" } }, "docker.publish", '"public"', 'target is "docker"'],
  ["docker.platform on kubernetes", { target: "kubernetes", domain: "example.com", docker: { platform: "linux/arm64" } }, "docker.platform", '"linux/arm64"', 'target is "docker"'],
];

describe("config refuses what a remote docker target cannot do, before any resource", () => {
  for (const [title, raw, key, value, allowed] of refused) {
    it(`${title}: names djangostack:${key}, shows ${value}, says what is allowed`, () => {
      const found = problems(raw);
      const match = found.find((p) => p.startsWith(`djangostack:${key}: got ${value}`));
      assert.ok(match, `no problem names djangostack:${key} with ${value}; got:\n${found.join("\n")}`);
      assert.ok(match.includes(allowed), `message lacks "${allowed}": ${match}`);
    });
  }

  it("accepts tcp:// on loopback (an SSH tunnel) and treats it as remote", () => {
    for (const host of ["tcp://127.0.0.1:2375", "tcp://localhost:2375", "tcp://[::1]:2375"]) {
      const config = parseConfig({ docker: { host } }, id);
      assert.equal(config.docker.remote, true, host);
      assert.equal(config.docker.platform, "linux/amd64", host);
    }
  });

  it("stops the offline render with the message naming the key", async () => {
    await assert.rejects(
      evaluateStack({ stack: "local", extraConfig: { "djangostack:docker": { host: "tcp://203.0.113.10:2375" } } }),
      (error: Error) => error.message.includes("djangostack:docker.host") && !/Resource|urn:/.test(error.message),
    );
  });
});
