import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";

/** DOCR credentials live at most `lifetimeDays` and are renewed by the first deploy of every `renewEveryDays` period. */
export const REGISTRY_CREDENTIALS = { lifetimeDays: 180, renewEveryDays: 30 } as const;
const DAY_SECONDS = 86_400;

/**
 * `expiry_seconds` for credentials requested at `now`. The provider issues new credentials on an update
 * only when expiry_seconds changes (its Read renews only expired ones, and only on a refresh), so the
 * value carries the renewal period in its last three digits: it changes once a period, never exceeds
 * the lifetime, and a deploy in the same period changes nothing (no new pull secret, no pod roll).
 */
export function registryCredentialExpirySeconds(now: Date): number {
  const period = Math.floor(now.getTime() / 1000 / (REGISTRY_CREDENTIALS.renewEveryDays * DAY_SECONDS));
  return REGISTRY_CREDENTIALS.lifetimeDays * DAY_SECONDS - (period % 1000);
}

/** Docker config JSON credentials for a DOCR registry, read-only or push (`write`), bounded and renewed as above. */
export function registryCredentials(name: string, registryName: pulumi.Input<string>, write: boolean, parent: pulumi.Resource): digitalocean.ContainerRegistryDockerCredentials {
  return new digitalocean.ContainerRegistryDockerCredentials(name, { registryName, write, expirySeconds: registryCredentialExpirySeconds(new Date()) }, { parent });
}
