import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { StackConfig } from "../config/types";
import { backupLifecycleRules } from "../model/backup";
import { spacesEndpoint } from "../model/media";
import { SpacesKeyPair, spacesStore } from "./spaces";

export interface BackupsArgs {
  config: StackConfig;
  /** `djangostack:backupCredentials`, wrapped as secrets when read; absent: a generated Spaces key. */
  supplied?: SpacesKeyPair;
}

/**
 * The Backups tier: the private Spaces bucket the scheduled backups go to (created, or an existing one
 * by name), its lifecycle rule (the retention), and the key the backup process uses. The process
 * itself (a container on the Docker targets, a CronJob on Kubernetes) is the target's: it needs the
 * data network and the database credentials.
 *
 * The bucket is protected and retained on delete (see `spacesStore`): turning backups off, renaming
 * the stack's resources or `pulumi destroy` never deletes a dump.
 */
export class BackupsTier extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly region: string;
  /** `https://<region>.digitaloceanspaces.com` */
  readonly endpoint: string;
  readonly credentials: SpacesKeyPair;
  /** Undefined with `backups.bucket.create: false`. */
  readonly bucket?: digitalocean.SpacesBucket;
  /** Undefined with `djangostack:backupCredentials`. */
  readonly key?: digitalocean.SpacesKey;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:ops:Backups", name, {}, opts);
    const { config } = args;
    const b = config.backups;
    this.region = b.bucket.region;
    this.endpoint = spacesEndpoint(b.bucket.region);
    const store = spacesStore(this, name, { bucket: b.bucket, keyName: `djangostack-${config.stack}-backups`, lifecycleRules: backupLifecycleRules(config), supplied: args.supplied });
    this.bucketName = store.bucketName;
    this.bucket = store.bucket;
    this.key = store.key;
    this.credentials = store.credentials;
    this.registerOutputs({ bucketName: this.bucketName, region: this.region, endpoint: this.endpoint });
  }
}
