/**
 * Secret values under any key. The Pulumi CLI hands a structured key with any `secure:` leaf (e.g.
 * `pulumi config set --secret --path 'djangostack:apps[0].env.TOKEN'`) to the program as one secret
 * key in plain JSON: which leaf was encrypted is not passed on (@pulumi/pulumi's runtime/config only
 * keeps the list of secret keys). So every value under a secret key counts as secret: the Checker
 * never prints one, and an app's `env` under a secret `apps` key becomes secret env.
 */
import { Checker } from "./checker";
import { AppConfig } from "./types";

/**
 * Moves the env entries that arrived under a secret key to the app's secret env names, so they reach
 * a Kubernetes Secret and a secret Docker env entry instead of a ConfigMap; `readSuppliedSecrets`
 * takes their values from the same place, wrapped as secrets.
 */
export function moveSecretEnv(c: Checker, path: string, app: AppConfig): void {
  for (const name of Object.keys(app.env)) {
    if (!c.isSecret(`${path}.env.${name}`)) continue;
    delete app.env[name];
    app.secretEnvKeys.push(name);
  }
}
