import type { FakeInvoke, FakeOutputs } from "./fakes";

/** Fake provider outputs for the kubernetes target's resource types. */
export const kubernetesFakes: Record<string, FakeOutputs> = {};
export const kubernetesInvokes: Record<string, FakeInvoke> = {};
