/**
 * Issue 10 item 4: private registries other than DigitalOcean's. Pull credentials are the secret
 * `djangostack:registryCredentials` (host -> {username, password}), validated without echoing a
 * value, and reach whatever pulls the apps' named images: the docker provider's registryAuth (local,
 * a Docker host, the Droplet beside DOCR's login) and the namespace's dockerconfigjson pull Secret.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { registryOf } from "../../src/config/registries";
import { parseConfig } from "../../src/config/schema";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { RecordedResource } from "../../src/offline/engine";
import { evaluateTargets } from "../helpers/targets";
import { withLogins } from "../../src/render/docker-config";
import { id, onDroplet, problems } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const PASSWORD = "ghp_never-shown-in-a-message";
const privateApp = { name: "api", image: "ghcr.io/acme/api:1.4@sha256:" + "a".repeat(64), routes: ["/"] };
const withCredentials = (credentials: unknown, extra: Raw = {}): Raw => ({ apps: [privateApp], registryCredentials: credentials, ...extra });
const good = { "ghcr.io": { username: "bot", password: PASSWORD } };
const secretKeys = ["registryCredentials"];
const problemsOf = (raw: Raw): string[] => {
  try {
    parseConfig(raw, id, secretKeys);
  } catch (error) {
    return (error as { problems: string[] }).problems;
  }
  return [];
};

describe("registryOf: the registry an image reference pulls from", () => {
  for (const [ref, host] of [
    ["ghcr.io/acme/api:1", "ghcr.io"],
    ["registry.example.com:5000/team/app", "registry.example.com:5000"],
    ["localhost/app", "localhost"],
    ["nginx:1.27", "docker.io"],
    ["library/nginx", "docker.io"],
    ["acme/api:1", "docker.io"],
  ] as const) {
    it(`${ref} -> ${host}`, () => assert.equal(registryOf(ref), host));
  }
});

describe("djangostack:registryCredentials", () => {
  it("accepts logins for the hosts the named images come from", () => {
    assert.deepEqual(parseConfig(withCredentials(good), id, secretKeys).registries, ["ghcr.io"]);
    assert.deepEqual(parseConfig({ apps: [privateApp] }, id).registries, []);
  });

  for (const [title, credentials, fragment] of [
    ["a host no image comes from", { "quay.io": { username: "bot", password: PASSWORD } }, "no app or frontend image is pulled from quay.io; images name ghcr.io"],
    ["a URL instead of a host", { "https://ghcr.io": { username: "bot", password: PASSWORD } }, '"https://ghcr.io" is not a registry host'],
    ["no password", { "ghcr.io": { username: "bot" } }, "expected exactly {username, password}"],
    ["an extra key", { "ghcr.io": { username: "bot", password: PASSWORD, email: "x@y.z" } }, "expected exactly {username, password}"],
    ["a string", PASSWORD, "expected an object of registry host"],
  ] as const) {
    it(`refuses ${title}, naming the key and never the password`, () => {
      const found = problemsOf(withCredentials(credentials));
      const match = found.find((p) => p.startsWith("djangostack:registryCredentials"));
      assert.ok(match?.includes(fragment), found.join("\n"));
      assert.ok(!found.join("\n").includes(PASSWORD), "a password reached a message");
    });
  }

  it("a plain (not secret) key is refused like any other bad input, and its value is still not shown", () => {
    const found = problems(withCredentials({ "quay.io": { username: "bot", password: PASSWORD } }));
    assert.ok(found.some((p) => p.startsWith("djangostack:registryCredentials.quay.io: got [secret]")), found.join("\n"));
  });
});

describe("withLogins: one dockerconfigjson for DOCR and the private registries", () => {
  it("adds each host's auth and keeps an entry already there", () => {
    const docr = JSON.stringify({ auths: { "registry.digitalocean.com": { auth: "ZG9jcjp4" } } });
    const merged = JSON.parse(withLogins(docr, [{ host: "ghcr.io", username: "bot", password: "pw" }, { host: "registry.digitalocean.com", username: "x", password: "y" }]));
    assert.deepEqual(merged.auths, { "registry.digitalocean.com": { auth: "ZG9jcjp4" }, "ghcr.io": { auth: Buffer.from("bot:pw").toString("base64") } });
  });
});

describe("pull credentials on the targets (offline engine)", () => {
  const extraConfig = {
    ...exactApps([privateApp]),
    "djangostack:registryCredentials": { "ghcr.io": { username: "bot", password: { secure: "v1:encrypted" } } },
  };
  const of = (e: Evaluation, type: string): RecordedResource[] => e.engine.resources.filter((r) => r.type === type);
  let local: Evaluation;
  let staging: Evaluation;
  let production: Evaluation;
  before(async () => {
    ({ local, staging, production } = await evaluateTargets(extraConfig));
  });

  it("local: an explicit docker provider carries the login, as a secret, and pulls the app's image", () => {
    const [provider] = of(local, "pulumi:providers:docker");
    assert.ok(provider, "no docker provider");
    assert.ok(isWireSecret(provider.inputs.registryAuth), "the login reaches the provider only as a secret");
    const auth = JSON.parse(String(unwrapSecrets(provider.inputs.registryAuth))) as { address: string; username: string }[];
    assert.deepEqual(auth.map((a) => [a.address, a.username]), [["ghcr.io", "bot"]]);
    const pull = of(local, "docker:index/remoteImage:RemoteImage").find((r) => String(r.inputs.name).startsWith("ghcr.io/"));
    assert.match(String(pull?.provider), /pulumi:providers:docker::local-docker::/);
  });

  it("local without logins keeps the default provider (the stack's resources are not moved)", async () => {
    const plain = await evaluateStack({ stack: "local" });
    assert.equal(of(plain, "pulumi:providers:docker").length, 0);
  });

  it("Droplet: DOCR's login and the private one on the same provider", () => {
    const [provider] = of(staging, "pulumi:providers:docker");
    const auth = JSON.parse(String(unwrapSecrets(provider.inputs.registryAuth))) as { address: string }[];
    assert.deepEqual(auth.map((a) => a.address), ["registry.digitalocean.com", "ghcr.io"]);
  });

  it("Kubernetes: the namespace's pull Secret holds both logins", () => {
    const pull = of(production, "kubernetes:core/v1:Secret").find((r) => (r.inputs as { type?: string }).type === "kubernetes.io/dockerconfigjson");
    const data = unwrapSecrets(pull?.inputs.stringData) as Record<string, string>;
    const json = JSON.parse(data[".dockerconfigjson"]);
    assert.deepEqual(Object.keys(json.auths).sort(), ["ghcr.io", "registry.digitalocean.com"]);
    assert.equal(Buffer.from(json.auths["ghcr.io"].auth, "base64").toString().split(":")[0], "bot");
  });

  it("a Droplet stack refuses a login no image needs", () => {
    const found = problemsOf({ ...onDroplet(), apps: [{ name: "web", routes: ["/"] }], registryCredentials: good });
    assert.ok(found.some((p) => p.includes("Images djangostack builds need no credentials")), found.join("\n"));
  });
});
