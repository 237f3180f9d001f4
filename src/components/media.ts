import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { AppConfig, StackConfig } from "../config/types";
import { spacesCdnDomain, spacesEndpoint, staticOnSpaces } from "../model/media";
import { SpacesKeyPair, SpacesStore, spacesStore } from "./spaces";

export interface MediaArgs {
  config: StackConfig;
  /** `djangostack:mediaCredentials`, by app, wrapped as secrets when read; an app absent here gets a generated key. */
  supplied: Record<string, SpacesKeyPair>;
}

/** An app's media bucket as the stack outputs describe it. */
export interface MediaBucketOutput {
  bucket: pulumi.Output<string>;
  region: string;
  endpoint: string;
  private: boolean;
}

/** Apps whose uploads go to a Spaces bucket (apps[].media.storage "spaces"). */
export const spacesApps = (config: StackConfig): AppConfig[] => config.apps.filter((a) => a.media.spaces !== undefined);

/**
 * The Media tier: for each app on Spaces, its private bucket (created, or an existing one by name)
 * and a key with read-write on that bucket only, which the app's processes receive as secret env.
 * Buckets are protected and retained on delete (see `spacesStore`): moving an app back to a volume,
 * removing it or `pulumi destroy` never deletes an upload. No lifecycle rule: uploads are kept.
 */
export class MediaTier extends pulumi.ComponentResource {
  /** By app. */
  readonly stores: Record<string, SpacesStore>;
  readonly credentials: Record<string, SpacesKeyPair>;
  readonly buckets: Record<string, MediaBucketOutput>;
  /** By app, for apps whose static files are in the bucket (apps[].static.storage "spaces"). */
  readonly cdns: Record<string, digitalocean.Cdn> = {};

  constructor(name: string, args: MediaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:app:Media", name, {}, opts);
    const { config } = args;
    this.stores = {};
    this.credentials = {};
    this.buckets = {};
    for (const app of spacesApps(config)) {
      const spaces = app.media.spaces;
      if (!spaces) continue;
      const store = spacesStore(this, `${name}-${app.name}`, { bucket: spaces.bucket, keyName: `djangostack-${config.stack}-${app.name}-media`, supplied: args.supplied[app.name] });
      this.stores[app.name] = store;
      this.credentials[app.name] = store.credentials;
      this.buckets[app.name] = { bucket: store.bucketName, region: spaces.bucket.region, endpoint: spacesEndpoint(spaces.bucket.region), private: spaces.private };
      if (staticOnSpaces(app)) this.cdns[app.name] = this.staticCdn(name, app.name, store.bucketName, spaces.bucket.region);
    }
    this.registerOutputs({ buckets: this.buckets });
  }

  /**
   * The Spaces CDN in front of the bucket, for its public-read `static/` objects. `origin` is ForceNew
   * and `ttl` updates in place (terraform-provider-digitalocean digitalocean/cdn/resource_cdn.go); the
   * endpoint is the API's, and the app's STATIC_URL was built from the name DigitalOcean documents:
   * a deploy that gets another one says so.
   */
  private staticCdn(name: string, app: string, bucket: pulumi.Output<string>, region: string): digitalocean.Cdn {
    const cdn = new digitalocean.Cdn(`${name}-${app}-static-cdn`, { origin: pulumi.interpolate`${bucket}.${region}.digitaloceanspaces.com`, ttl: 3600 }, { parent: this });
    pulumi.all([cdn.endpoint, bucket]).apply(([endpoint, b]) => {
      const expected = spacesCdnDomain(b, region);
      if (endpoint && endpoint !== expected) pulumi.log.warn(`djangostack: the CDN of ${b} answers at ${endpoint}, not ${expected}, which ${app}'s DJANGO_STATIC_URL names; report this, and set the app's static files back to storage "edge" meanwhile`, cdn);
    });
    return cdn;
  }
}
