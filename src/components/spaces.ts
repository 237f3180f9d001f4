import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { SpacesBucketConfig } from "../config/types";

/** A Spaces key pair a process signs its bucket requests with; both parts secret. */
export interface SpacesKeyPair {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
}

export interface SpacesStoreArgs {
  bucket: SpacesBucketConfig;
  /** The generated key's name in the DigitalOcean account. */
  keyName: string;
  lifecycleRules?: digitalocean.types.input.SpacesBucketLifecycleRule[];
  /** A key pair read from secret config; absent: a key the stack generates. */
  supplied?: SpacesKeyPair;
}

/** A bucket and the key that reaches it, as `spacesStore` creates them. */
export interface SpacesStore {
  bucketName: pulumi.Output<string>;
  credentials: SpacesKeyPair;
  /** Undefined with `bucket.create: false`. */
  bucket?: digitalocean.SpacesBucket;
  /** Undefined with a supplied key pair. */
  key?: digitalocean.SpacesKey;
}

/**
 * A private Spaces bucket (created, or an existing one by name) and a key limited to it, as children
 * `<name>-bucket` and `<name>-key` of `parent`. The bucket is protected and retained on delete: no
 * config change or `pulumi destroy` deletes what it holds. The provider refuses to delete a bucket
 * that is not empty anyway (`force_destroy` false), and `region` forces a replacement
 * (terraform-provider-digitalocean digitalocean/spaces/resource_spaces_bucket.go), which protection
 * turns into a refused preview instead of a new, empty bucket. Objects carry their own ACLs, so the
 * bucket's own stays "private" (no listing) even when the objects are public-read.
 */
export function spacesStore(parent: pulumi.ComponentResource, name: string, args: SpacesStoreArgs): SpacesStore {
  let bucket: digitalocean.SpacesBucket | undefined;
  let bucketName: pulumi.Output<string>;
  if (args.bucket.create) {
    bucket = new digitalocean.SpacesBucket(
      `${name}-bucket`,
      { name: args.bucket.name, region: args.bucket.region, acl: "private", forceDestroy: false, ...(args.lifecycleRules ? { lifecycleRules: args.lifecycleRules } : {}) },
      // An explicit name is replaced delete-first by default (the bridge's nameRequiresDeleteBeforeReplace): never for this one.
      { parent, protect: true, retainOnDelete: true, deleteBeforeReplace: false },
    );
    bucketName = bucket.name;
  } else {
    bucketName = pulumi.output(args.bucket.name);
  }
  if (args.supplied) return { bucketName, bucket, credentials: args.supplied };
  // Limited to this bucket: "readwrite" reads, writes and deletes its objects and reaches no other
  // bucket (the provider's grant permissions are read, readwrite and fullaccess:
  // digitalocean/spaces/resource_spaces_key.go parseRawGrants). A grant names an existing bucket, so
  // the key follows the bucket's creation.
  const key = new digitalocean.SpacesKey(
    `${name}-key`,
    { name: args.keyName, grants: [{ bucket: bucketName, permission: "readwrite" }] },
    { parent, dependsOn: bucket ? [bucket] : [], additionalSecretOutputs: ["accessKey", "secretKey"] },
  );
  return { bucketName, bucket, key, credentials: { accessKeyId: pulumi.secret(key.accessKey), secretAccessKey: pulumi.secret(key.secretKey) } };
}
