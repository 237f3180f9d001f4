/**
 * DigitalOcean slugs the program sends to the provider, checked before anything exists (the provider
 * only fails at create time, after the VPC and firewall were made).
 *
 * Sources:
 * - Regions and Droplet sizes: the `Region` and `DropletSlug` enums of @pulumi/digitalocean (the
 *   version package.json pins), generated from the provider schema, plus `atl1` (Atlanta), which the
 *   enum predates and terraform-provider-digitalocean's own docs and acceptance tests use.
 * - DOKS regions: "Kubernetes will not be offered in NYC2, AMS2, or SFO1"
 *   (https://docs.digitalocean.com/products/kubernetes/, Regional Availability).
 * - Disk sizes: DigitalOcean's Droplet pricing page (https://www.digitalocean.com/pricing/droplets);
 *   listed only where that page states them, so a swap check is skipped for the rest.
 * - Images: what src/render/cloudinit.ts bootstraps (Docker's Ubuntu apt repository, Ubuntu's sshd and
 *   unattended-upgrades layout): the Ubuntu LTS x64 images.
 */
import { DropletSlug, Region } from "@pulumi/digitalocean/types/enums";
import type { Checker } from "./checker";
import type { Target } from "./types";

export const REGIONS: readonly string[] = [...Object.values(Region), "atl1"];
export const NO_KUBERNETES_REGIONS: readonly string[] = ["nyc2", "ams2", "sfo1"];

/**
 * The enum's trailing block of retired plans (the 2018 memory-named sizes and the pre-2021 Basic
 * plans) is not offered for new Droplets; GPU plans need GPU images and drivers the bootstrap lacks.
 */
const RETIRED = new Set(["s-1vcpu-3gb", "s-3vcpu-1gb", "s-6vcpu-16gb", "s-8vcpu-32gb", "s-12vcpu-48gb", "s-16vcpu-64gb", "s-20vcpu-96gb", "s-24vcpu-128gb", "s-32vcpu-192gb"]);
export const DROPLET_SIZES: readonly string[] = [...new Set(Object.values(DropletSlug))].filter((s) => !RETIRED.has(s) && !/^\d+(mb|gb)$/.test(s) && !s.startsWith("gpu-"));

/** The shape of every current Droplet size family: Basic, CPU-, General Purpose, Memory- and Storage-Optimized. */
const SIZE_SHAPE = /^(s-[0-9]+vcpu-[0-9]+(mb|gb)(-[0-9]+gb)?(-amd|-intel)?|c-[0-9]+(-intel)?|(c2|g|gd|m|m3|m6|so|so1_5)-[0-9]+vcpu-[0-9]+gb(-intel)?)$/;
const SIZE_EXAMPLES = "s-2vcpu-4gb, c-4, c2-4vcpu-8gb, g-2vcpu-8gb, gd-2vcpu-8gb, m-2vcpu-16gb, so-2vcpu-16gb";

/** Root disk in GiB, from the pricing page (the GB there are the disk sizes the Droplet gets). */
const DISK_GIB: Readonly<Record<string, number>> = (() => {
  const table: Record<string, number> = { "s-1vcpu-512mb-10gb": 10, "s-2vcpu-8gb-amd": 100, "s-4vcpu-16gb-amd": 200, "s-8vcpu-32gb-amd": 400 };
  const basic: [string, number][] = [["s-1vcpu-1gb", 25], ["s-1vcpu-2gb", 50], ["s-2vcpu-2gb", 60], ["s-2vcpu-4gb", 80], ["s-4vcpu-8gb", 160], ["s-8vcpu-16gb", 320]];
  for (const [slug, disk] of basic) for (const variant of ["", "-amd", "-intel"]) table[`${slug}${variant}`] = disk;
  // The Premium Intel plans with a larger disk carry it in the slug (s-2vcpu-4gb-120gb-intel).
  for (const slug of DROPLET_SIZES) {
    const m = /^s-[0-9]+vcpu-[0-9]+(?:mb|gb)-([0-9]+)gb-intel$/.exec(slug);
    if (m) table[slug] = Number(m[1]);
  }
  const dedicated: Record<string, number[]> = {
    c: [25, 50, 100, 200, 400, 600],
    c2: [50, 100, 200, 400, 800, 1200],
    g: [25, 50, 100, 200, 400, 500],
    gd: [50, 100, 200, 400, 800, 1000],
    m: [50, 100, 200, 400, 600, 800],
    m3: [150, 300, 600, 1200, 1800, 2400],
    m6: [300, 600, 1200, 2400, 3600, 4800],
    so: [300, 600, 1200, 2400, 3600, 4800],
    so1_5: [450, 900, 1800, 3600, 5400, 7200],
  };
  for (const [family, disks] of Object.entries(dedicated)) {
    // Each family's six regular (non-Intel) plans in ascending order, as the pricing page lists them.
    const plans = DROPLET_SIZES.filter((s) => s.startsWith(`${family}-`) && !s.endsWith("-intel")).sort((a, b) => vcpus(a) - vcpus(b));
    plans.slice(0, disks.length).forEach((slug, i) => (table[slug] = disks[i]));
  }
  return table;
})();

function vcpus(slug: string): number {
  const m = /-([0-9]+)(vcpu)?/.exec(slug);
  return m ? Number(m[1]) : 0;
}

export function diskGiB(size: string): number | undefined {
  return DISK_GIB[size];
}

/** Supported by the cloud-init bootstrap (Docker's Ubuntu repository, Ubuntu's sshd layout). */
export const DROPLET_IMAGES = ["ubuntu-24-04-x64", "ubuntu-22-04-x64"] as const;

const quoted = (items: readonly string[]) => items.map((i) => `"${i}"`).join(", ");

export function parseRegion(c: Checker, value: unknown, target: Target, fallback: string): string {
  const region = c.string("region", value, fallback, /^[a-z]+[0-9]$/, `a DigitalOcean region slug such as "nyc3" or "fra1"; known regions: ${REGIONS.join(", ")}`);
  if (!REGIONS.includes(region)) {
    c.fail("region", region, `not a DigitalOcean region slug; known regions: ${quoted(REGIONS)}`);
    return fallback;
  }
  if (target === "kubernetes" && NO_KUBERNETES_REGIONS.includes(region)) {
    c.fail("region", region, `DigitalOcean Kubernetes is not offered in ${NO_KUBERNETES_REGIONS.join(", ")}; allowed for target "kubernetes": ${quoted(REGIONS.filter((r) => !NO_KUBERNETES_REGIONS.includes(r)))}`);
  }
  return region;
}

/** A Droplet (or DOKS node) size: the family shape first, then the known slugs of that family. */
export function parseSize(c: Checker, path: string, value: unknown, fallback: string, what: string): string {
  const size = c.string(path, value, fallback, /^\S+$/, `a ${what} size slug such as ${fallback}`);
  if (DROPLET_SIZES.includes(size)) return size;
  if (!SIZE_SHAPE.test(size)) {
    const hint = size.startsWith("gpu-") ? "GPU plans are not supported (no workload here uses a GPU); " : /^\d+(mb|gb)$/.test(size) ? "the memory-named plans were retired in 2018; " : "";
    c.fail(path, size, `${hint}expected a ${what} size slug shaped like ${SIZE_EXAMPLES}`);
    return fallback;
  }
  const family = size.slice(0, size.indexOf("-") + 1);
  const siblings = DROPLET_SIZES.filter((s) => s.startsWith(family));
  const sameCpu = siblings.filter((s) => vcpus(s) === vcpus(size));
  c.fail(path, size, `no such ${what} size${RETIRED.has(size) ? " (a retired plan)" : ""}; known ${family}* sizes${sameCpu.length > 0 ? ` with ${vcpus(size)} vCPU${vcpus(size) === 1 ? "" : "s"}` : ""}: ${(sameCpu.length > 0 ? sameCpu : siblings).join(", ")}`);
  return fallback;
}

export function parseDropletImage(c: Checker, value: unknown): string {
  const image = c.string("droplet.image", value, DROPLET_IMAGES[0], /^\S+$/, "a Droplet image slug");
  if ((DROPLET_IMAGES as readonly string[]).includes(image)) return image;
  c.fail("droplet.image", image, `the Droplet bootstrap (cloud-init) installs Docker from Docker's Ubuntu repository and hardens Ubuntu's sshd; supported images: ${quoted(DROPLET_IMAGES)}`);
  return DROPLET_IMAGES[0];
}

/**
 * The swap file lives on the root disk with the OS, the Docker images and every data volume of the
 * Droplet (no block storage is attached): it may take at most a quarter of it.
 */
export function checkSwap(c: Checker, size: string, swapGiB: number): void {
  const disk = diskGiB(size);
  if (disk === undefined) return;
  const max = Math.floor(disk / 4);
  if (swapGiB > max) c.fail("droplet.swapGiB", swapGiB, `droplet.size ${size} has a ${disk} GiB disk shared with the OS, Docker images and data volumes; allowed: 0 to ${max} (a quarter of the disk)`);
}
