import * as pulumi from "@pulumi/pulumi";

/**
 * Rendered files the program hands to servers (nginx.conf, SQL, cloud-init...). Components record
 * them here so the offline render can write them out; `pulumi up` simply ignores the registry.
 * Content must never hold a secret value: render with placeholders for the record.
 */
export interface Artifact {
  path: string;
  content: pulumi.Input<string>;
}

const registry: Artifact[] = [];

export function recordArtifact(path: string, content: pulumi.Input<string>): void {
  if (registry.some((a) => a.path === path)) throw new Error(`djangostack: artifact ${path} recorded twice`);
  registry.push({ path, content });
}

/** Forget every record: each offline evaluation starts clean. */
export function resetArtifacts(): void {
  registry.length = 0;
}

export function recordedArtifacts(): readonly Artifact[] {
  return registry;
}

/** Placeholder for any secret embedded in a recorded artifact. */
export const SECRET_PLACEHOLDER = "[secret]";
