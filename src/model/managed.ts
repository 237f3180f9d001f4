/**
 * Sizing facts of DigitalOcean's managed services, pure so the capacity check and the cost estimate
 * use them without loading the Kubernetes target (and its provider SDKs).
 */
import { KubernetesConfig } from "../config/types";

/** Legacy size slugs mapped to DigitalOcean Load Balancer size units (the size-slug annotation is deprecated). */
export const LB_SIZE_UNITS: Record<KubernetesConfig["loadBalancerSize"], number> = { "lb-small": 1, "lb-medium": 3, "lb-large": 6 };

/**
 * Backend connections a managed PostgreSQL node allows: 25 per GiB of RAM, 3 reserved (DigitalOcean
 * API reference). 80% of them go to the app pools, split evenly; the rest stay for direct admin use.
 */
export function poolSize(sizeSlug: string, apps: number): number {
  const gib = /-(\d+)gb$/.exec(sizeSlug);
  const backends = gib ? 25 * Number(gib[1]) - 3 : 22;
  return Math.max(1, Math.floor((backends * 0.8) / Math.max(1, apps)));
}
