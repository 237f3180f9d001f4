/**
 * Where images come from besides this stack's own builds. `djangostack:registryCredentials` (secret):
 * pull credentials for private registries other than DigitalOcean's, keyed by registry host, for the
 * images apps and the frontend name (`image:`); only the hosts reach the config, the values are read
 * as secrets (config/load.ts) and never shown. `djangostack:promoteFrom`: another stack's images.
 */
import { Checker, isPlainObject } from "./checker";
import { StackConfig, Target } from "./types";

/** A registry host as image references name it: lowercase DNS name or IP, optional port. */
const REGISTRY_HOST = /^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:[0-9]{1,5})?$/;

/**
 * The registry an image reference pulls from, as Docker reads it: the first path component when it
 * has a dot or a port or is localhost, else Docker Hub.
 */
export function registryOf(ref: string): string {
  const first = ref.split("/")[0];
  return ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first.toLowerCase() : "docker.io";
}

/** The named images of a config: what its containers pull by reference. */
function namedImages(config: Pick<StackConfig, "apps" | "frontend">): string[] {
  const sources = [...config.apps.map((a) => a.source), ...(config.frontend ? [config.frontend.source] : [])];
  return sources.flatMap((s) => (s.kind === "image" ? [s.image] : []));
}

/** Validates the credentials' shape (never echoing a value) and that an image comes from each host; returns the hosts. */
export function parseRegistryCredentials(c: Checker, value: unknown, config: Pick<StackConfig, "apps" | "frontend">): string[] {
  if (value === undefined || value === null) return [];
  const key = "registryCredentials";
  if (!isPlainObject(value)) {
    c.fail(key, "[secret]", 'expected an object of registry host -> {username, password}, e.g. {"ghcr.io": {"username": "bot", "password": "..."}}');
    return [];
  }
  const used = new Set(namedImages(config).map(registryOf));
  const hosts: string[] = [];
  for (const [host, entry] of Object.entries(value)) {
    const path = `${key}.${host}`;
    if (!REGISTRY_HOST.test(host)) {
      c.fail(key, "[secret]", `"${host}" is not a registry host; expected a lowercase host name with an optional port, such as ghcr.io or registry.example.com:5000`);
      continue;
    }
    if (!isPlainObject(entry) || typeof entry.username !== "string" || entry.username === "" || typeof entry.password !== "string" || entry.password === "" || Object.keys(entry).some((k) => k !== "username" && k !== "password")) {
      c.fail(path, "[secret]", "expected exactly {username, password}, both non-empty strings");
      continue;
    }
    if (!used.has(host)) c.fail(path, "[secret]", `no app or frontend image is pulled from ${host}; images name ${[...used].join(", ") || "no registry (every image is built)"}. Images djangostack builds need no credentials`);
    hosts.push(host);
  }
  return hosts;
}

/** A stack name as `pulumi stack select` takes it: `stack`, `project/stack` or `org/project/stack`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

/**
 * `djangostack:promoteFrom`: the stack whose `images` output (digest-pinned references in the
 * registry) this stack runs instead of building, so what was tested is what ships.
 */
export function parsePromoteFrom(c: Checker, value: unknown, target: Target, stack: string): string | undefined {
  if (value === undefined) return undefined;
  const from = c.string("promoteFrom", value, "", STACK_NAME, 'a stack name such as "acme/djangostack/staging" (org/project/stack)');
  if (target === "docker") c.fail("promoteFrom", from, 'only on "droplet" and "kubernetes": the docker target builds into its own engine; run a tested image there with apps[].image');
  if (from.split("/").pop() === stack && !from.includes("/")) c.fail("promoteFrom", from, `is this stack itself; name the stack whose images were tested, e.g. "<org>/<project>/staging"`);
  return from;
}
