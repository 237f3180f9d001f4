import * as pulumi from "@pulumi/pulumi";
import * as dockerBuild from "@pulumi/docker-build";
import { AppSource, StackConfig } from "../config/types";
import * as names from "../model/names";
import { DjangostackStackReference } from "../../packages/outputs/src/index";
import { BACKUP_PROCESS, renderBackupDockerfile } from "../model/backup";

/** A registry the built images are pushed to (DigitalOcean Container Registry on the cloud targets). */
export interface ImageRegistry {
  /** e.g. registry.digitalocean.com */
  server: pulumi.Input<string>;
  /** e.g. registry.digitalocean.com/acme: each image becomes <repositoryPrefix>/<stack>-<app>. */
  repositoryPrefix: pulumi.Input<string>;
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export interface ImagesArgs {
  config: StackConfig;
  /** Without a registry images are loaded into the provider's engine instead of pushed. */
  registry?: ImageRegistry;
  /**
   * The engine to build on and load into. Absent, docker-build uses the ambient DOCKER_HOST or docker
   * context of the machine running `pulumi up`, not `docker.host`: its provider `host` defaults to
   * DOCKER_HOST (pulumi-docker-build v0.0.22 provider/internal/provider.go, Config.Annotate).
   */
  provider?: dockerBuild.Provider;
  /** One platform to build for; absent, amd64 when pushing (Droplets and DOKS nodes), else the builder's native one. */
  platform?: dockerBuild.Platform;
}

const PINNED = /@sha256:[0-9a-f]{64}$/;

/**
 * The references this stack runs from another stack's `images` output: exactly the same apps (and
 * frontend) and each built one pinned by digest, or an error saying what differs.
 */
export function promotedImages(from: string, images: unknown, keys: readonly string[], built: readonly string[]): Record<string, string> {
  if (typeof images !== "object" || images === null) throw new Error(`djangostack: promoteFrom ${from} exports no images map; deploy it first`);
  const exported = images as Record<string, unknown>;
  const theirs = Object.keys(exported).sort();
  const ours = [...keys].sort();
  if (theirs.join() !== ours.join()) {
    throw new Error(`djangostack: promoteFrom ${from} exports images for ${theirs.join(", ") || "nothing"}, this stack runs ${ours.join(", ")}: deploy ${from} with the same apps first, so what ships is what was tested`);
  }
  for (const key of built) {
    const ref = exported[key];
    if (typeof ref !== "string" || !PINNED.test(ref)) throw new Error(`djangostack: promoteFrom ${from} exports ${key} as ${JSON.stringify(ref)}, not pinned by digest (name@sha256:...); only a pushed build can be promoted`);
  }
  return exported as Record<string, string>;
}

/** Label carrying the built digest, so a rebuilt local image replaces the containers that run it. */
export const DIGEST_LABEL = "djangostack.image-digest";

/**
 * The Images tier: one docker-build Image per app that builds from source (and the frontend).
 * `refs` is what containers run: `repo:tag@sha256:...` when pushed, the local tag when loaded.
 */
export class ImagesTier extends pulumi.ComponentResource {
  readonly refs: Record<string, pulumi.Output<string>> = {};
  readonly digests: Record<string, pulumi.Output<string>> = {};
  /** Images built and loaded into the engine that runs the containers; every other one is pulled. */
  readonly loaded: Record<string, boolean> = {};
  /**
   * The backup image (postgres of the server's major plus python3), when backups run: built here like
   * the apps' but not one of `refs`, which are the apps' images (the `images` output, promotion).
   */
  readonly backup?: { ref: pulumi.Output<string>; digest: pulumi.Output<string>; loaded: boolean };

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:images:Images", name, {}, opts);
    const sources: [string, AppSource][] = args.config.apps.map((a) => [a.name, a.source]);
    if (args.config.frontend) sources.push([names.FRONTEND, args.config.frontend.source]);
    const platform = args.platform ?? (args.registry ? dockerBuild.Platform.Linux_amd64 : undefined);
    const from = args.config.promoteFrom;
    const built = sources.filter(([, s]) => s.kind === "build").map(([key]) => key);
    // Promotion: the other stack's pushed builds, by digest, instead of building here.
    const promoted = from
      ? new DjangostackStackReference(from, { parent: this }).get("images").apply((images) => promotedImages(from, images, sources.map(([key]) => key), built))
      : undefined;
    for (const [key, source] of sources) {
      if (source.kind === "image") {
        this.refs[key] = pulumi.output(source.image);
        this.digests[key] = pulumi.output("");
        continue;
      }
      if (promoted) {
        this.refs[key] = promoted.apply((refs) => refs[key]);
        this.digests[key] = this.refs[key].apply((ref) => ref.slice(ref.indexOf("@") + 1));
        this.loaded[key] = false;
        continue;
      }
      const repository = args.registry
        ? pulumi.interpolate`${args.registry.repositoryPrefix}/${args.config.stack}-${key}`
        : pulumi.output(`djangostack-${args.config.stack}-${key}`);
      const image = new dockerBuild.Image(
        `${name}-${key}`,
        {
          context: { location: source.context },
          dockerfile: { location: `${source.context}/${source.dockerfile}` },
          target: source.target,
          buildArgs: source.args,
          // A local build stays native (no emulation on arm64 laptops); a remote engine gets the configured platform.
          platforms: platform ? [platform] : undefined,
          tags: [pulumi.interpolate`${repository}:${args.config.stack}`],
          push: Boolean(args.registry),
          load: !args.registry,
          registries: args.registry ? [{ address: args.registry.server, username: args.registry.username, password: args.registry.password }] : undefined,
          buildOnPreview: false,
        },
        { parent: this, provider: args.provider },
      );
      this.refs[key] = args.registry ? image.ref : pulumi.interpolate`${repository}:${args.config.stack}`;
      this.loaded[key] = !args.registry;
      this.digests[key] = image.digest;
    }
    if (args.config.backups.enabled) {
      const repository = args.registry
        ? pulumi.interpolate`${args.registry.repositoryPrefix}/${args.config.stack}-${BACKUP_PROCESS}`
        : pulumi.output(`djangostack-${args.config.stack}-${BACKUP_PROCESS}`);
      const tag = pulumi.interpolate`${repository}:${args.config.data.postgres.version}`;
      const image = new dockerBuild.Image(
        `${name}-${BACKUP_PROCESS}`,
        {
          // Inline: no build context, so the image builds wherever the program runs from.
          dockerfile: { inline: renderBackupDockerfile(args.config.data.postgres.version) },
          platforms: platform ? [platform] : undefined,
          tags: [tag],
          push: Boolean(args.registry),
          load: !args.registry,
          registries: args.registry ? [{ address: args.registry.server, username: args.registry.username, password: args.registry.password }] : undefined,
          buildOnPreview: false,
        },
        { parent: this, provider: args.provider },
      );
      this.backup = { ref: args.registry ? image.ref : tag, digest: image.digest, loaded: !args.registry };
    }
    this.registerOutputs({ refs: this.refs, digests: this.digests });
  }
}
