/**
 * `apps[].calls`: the apps an app calls over HTTP inside the stack. The caller gets each one's internal
 * URL (`<APP>_SERVICE_URL`); the targets allow exactly those calls (Kubernetes NetworkPolicies).
 */
import { Checker } from "./checker";
import { AppConfig } from "./types";

/** The env name under which a caller gets another app's internal URL: AUTH_SERVICE_URL. */
export const serviceUrlEnv = (other: string): string => `${other.toUpperCase().replace(/-/g, "_")}_SERVICE_URL`;

export function checkCalls(c: Checker, apps: AppConfig[]): void {
  apps.forEach((app, i) => {
    app.calls.forEach((other, j) => {
      const key = `apps[${i}].calls[${j}]`;
      const env = serviceUrlEnv(other);
      if (!apps.some((a) => a.name === other)) c.fail(key, other, `no such app; apps are ${apps.map((a) => a.name).join(", ")}`);
      else if (other === app.name) c.fail(key, other, "an app reaches itself without a call; name another app");
      else if (app.calls.indexOf(other) !== j) c.fail(key, other, `named twice in apps[${i}].calls`);
      else if (env in app.env || app.secretEnvKeys.includes(env)) c.fail(key, other, `the app's env already sets ${env}, the variable this call hands it`);
    });
  });
}
