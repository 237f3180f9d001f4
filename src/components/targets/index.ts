import type { Target } from "../../config/types";
import type { Deployer } from "./types";

/**
 * Each target's module is loaded only when a stack uses it: importing the three realizers eagerly
 * made every render load @pulumi/kubernetes and @pulumi/digitalocean, which the local stack never
 * uses (measured in bench/README.md). `require` keeps the stack build synchronous, as the language
 * host expects; the `typeof import()` casts keep each deployer fully typed.
 */
const loaders: Record<Target, () => Deployer> = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  docker: () => (require("./docker") as typeof import("./docker")).deployLocal,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  droplet: () => (require("./droplet") as typeof import("./droplet")).deployDroplet,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  kubernetes: () => (require("./kubernetes") as typeof import("./kubernetes")).deployKubernetes,
};

/** The deployer of one target, its module loaded on first use. */
export function deployerFor(target: Target): Deployer {
  return loaders[target]();
}
