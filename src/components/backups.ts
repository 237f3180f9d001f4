import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { StackConfig } from "../config/types";
import { backupBucketEndpoint, backupLifecycleRules } from "../model/backup";

/** The key pair the backup process signs its bucket requests with; both parts secret. */
export interface BackupBucketCredentials {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
}

export interface BackupsArgs {
  config: StackConfig;
  /** `djangostack:backupCredentials`, wrapped as secrets when read; absent: a generated Spaces key. */
  supplied?: BackupBucketCredentials;
}

/**
 * The Backups tier: the private Spaces bucket the scheduled backups go to (created, or an existing one
 * by name), its lifecycle rule (the retention), and the key the backup process uses. The process
 * itself (a container on the Docker targets, a CronJob on Kubernetes) is the target's: it needs the
 * data network and the database credentials.
 *
 * The bucket is protected and retained on delete: turning backups off, renaming the stack's
 * resources or `pulumi destroy` never deletes a dump. The provider refuses to delete a bucket that
 * is not empty anyway (`force_destroy` false), and `region` forces a replacement
 * (terraform-provider-digitalocean digitalocean/spaces/resource_spaces_bucket.go), which protection
 * turns into a refused preview instead of a new, empty bucket.
 */
export class BackupsTier extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly region: string;
  /** `https://<region>.digitaloceanspaces.com` */
  readonly endpoint: string;
  readonly credentials: BackupBucketCredentials;
  /** Undefined with `backups.bucket.create: false`. */
  readonly bucket?: digitalocean.SpacesBucket;
  /** Undefined with `djangostack:backupCredentials`. */
  readonly key?: digitalocean.SpacesKey;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:ops:Backups", name, {}, opts);
    const { config } = args;
    const b = config.backups;
    this.region = b.bucket.region;
    this.endpoint = backupBucketEndpoint(b.bucket.region);
    if (b.bucket.create) {
      this.bucket = new digitalocean.SpacesBucket(
        `${name}-bucket`,
        {
          name: b.bucket.name,
          region: b.bucket.region,
          acl: "private",
          forceDestroy: false,
          lifecycleRules: backupLifecycleRules(config),
        },
        // An explicit name is replaced delete-first by default (the bridge's nameRequiresDeleteBeforeReplace): never for this one.
        { parent: this, protect: true, retainOnDelete: true, deleteBeforeReplace: false },
      );
      this.bucketName = this.bucket.name;
    } else {
      this.bucketName = pulumi.output(b.bucket.name);
    }
    if (args.supplied) {
      this.credentials = args.supplied;
    } else {
      // Limited to this bucket: the key can read and write dumps, never another bucket. A grant names an
      // existing bucket, so the key follows the bucket's creation.
      this.key = new digitalocean.SpacesKey(
        `${name}-key`,
        { name: `djangostack-${config.stack}-backups`, grants: [{ bucket: this.bucketName, permission: "readwrite" }] },
        { parent: this, dependsOn: this.bucket ? [this.bucket] : [], additionalSecretOutputs: ["accessKey", "secretKey"] },
      );
      this.credentials = { accessKeyId: pulumi.secret(this.key.accessKey), secretAccessKey: pulumi.secret(this.key.secretKey) };
    }
    this.registerOutputs({ bucketName: this.bucketName, region: this.region, endpoint: this.endpoint });
  }
}
