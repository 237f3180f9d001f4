import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { StackConfig } from "../config/types";
import { Process } from "../model/types";

/** `repo:tag` and the registry's digest for it -> `repo:tag@sha256:…`: the kubelet pulls the digest, readers see the tag. */
export function withDigest(ref: string, digest: string): string {
  if (ref.includes("@")) throw new Error(`djangostack: ${ref} is already pinned by digest`);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`djangostack: the registry returned no sha256 digest for ${ref} (got "${digest}")`);
  return `${ref}@${digest}`;
}

/**
 * A public image reference pinned to the digest its tag has in the registry at deploy time. docker's
 * getRegistryImage asks the registry itself (a manifest HEAD, the index digest for multi-arch tags)
 * and needs no Docker daemon; every node or host then runs the same bytes until the next deploy
 * resolves the tag again, and a rebuilt tag shows up in the preview as a changed image.
 */
export function pinnedImage(ref: string, parent: pulumi.Resource): pulumi.Output<string> {
  return docker.getRegistryImageOutput({ name: ref }, { parent }).sha256Digest.apply((digest) => withDigest(ref, digest));
}

/** The public image a process runs, pinned (`pinnedImage`). */
export function pinnedPublicImage(process: Process, parent: pulumi.Resource): pulumi.Output<string> {
  if (process.image.kind !== "public") throw new Error(`djangostack: ${process.name} is expected to run a public image`);
  return pinnedImage(process.image.ref, parent);
}

/**
 * Public images (PostgreSQL, Redis, RabbitMQ, nginx, certbot) run by digest wherever the stack serves
 * others: a Droplet, or an engine on a server of yours (docker.host). The local engine keeps the tags,
 * for the quick loop where a rebuilt upstream tag should not replace the database container.
 */
export function pinsPublicImages(config: StackConfig): boolean {
  return config.target === "droplet" || Boolean(config.docker.host);
}
