import type { FakeInvoke, FakeOutputs } from "./fakes";

/** Fake provider outputs for the droplet target's resource types. */
export const dropletFakes: Record<string, FakeOutputs> = {};
export const dropletInvokes: Record<string, FakeInvoke> = {};
