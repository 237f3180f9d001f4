// The SDK exports this from runtime/settings.js but leaves it out of its typings (@internal).
import "@pulumi/pulumi/runtime/settings";

declare module "@pulumi/pulumi/runtime/settings" {
  export function waitForRPCs(): Promise<void>;
}

// Exported by runtime/config.js, left out of its typings (@internal): the keys the engine marks secret.
declare module "@pulumi/pulumi/runtime/config" {
  export function isConfigSecret(key: string): boolean;
}
