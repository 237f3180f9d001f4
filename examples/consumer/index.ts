/**
 * Another team's Pulumi program reading a djangostack stack through the typed reader: the shop's
 * URL (plain), a database host and the broker URL (both secret). It creates nothing itself; a real
 * consumer would pass these to its own resources (a monitoring check, a worker's env...).
 */
import * as pulumi from "@pulumi/pulumi";
import { DjangostackStackReference } from "@djangostack/outputs";

const config = new pulumi.Config();
const shop = new DjangostackStackReference(config.get("djangostackStack") ?? "acme/djangostack/production");
const appName = config.get("app") ?? "shop";

/** Plain: URLs are not secret in the contract. */
export const shopUrl = shop.get("url");
export const shopHealthUrl = shop.get("healthUrl");
export const shopTarget = shop.target;

const app = shop.app(appName);

/**
 * The host of the app's Postgres, from its DSN: every target exports the DSN, while `databaseHosts`
 * exists on kubernetes only. Derived from a secret, so it stays secret.
 */
export const databaseHost: pulumi.Output<string> = app.apply((a) => {
  if (a.databaseUrl === undefined) throw new Error(`app ${appName} has no database`);
  return new URL(a.databaseUrl).hostname;
});

/** The app's broker URL, for our own Celery workers; secret (it carries the password). */
export const brokerUrl: pulumi.Output<string> = pulumi.secret(
  app.apply((a) => {
    if (a.brokerUrl === undefined) throw new Error(`app ${appName} has no broker`);
    return a.brokerUrl;
  }),
);
