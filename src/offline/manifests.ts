import YAML from "yaml";
import { RecordedResource } from "./engine";
import { maskSecretsKeepingShape } from "./secret";

/** Kubernetes objects the program registered, one YAML manifest each (secrets masked). */
export function kubernetesManifests(resources: RecordedResource[]): { path: string; content: string }[] {
  return resources
    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm") && r.type !== "pulumi:providers:kubernetes" && typeof r.inputs.kind === "string")
    .map((r) => {
      const meta = (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
      const kind = String(r.inputs.kind).toLowerCase();
      const file = `kubernetes/${meta.namespace ? `${meta.namespace}/` : ""}${kind}-${meta.name ?? r.name}.yaml`;
      return { path: file, content: YAML.stringify(maskSecretsKeepingShape(r.inputs)) };
    });
}
