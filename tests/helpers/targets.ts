import { Evaluation, evaluateStack } from "../../src/offline/render";

export type TargetStack = "local" | "staging" | "production";

/**
 * The three stacks of the project with the same extra config, under the offline engine. One at a time:
 * an evaluation loads the program afresh and owns the artifact registry while it runs.
 */
export async function evaluateTargets(extraConfig: Record<string, unknown>): Promise<Record<TargetStack, Evaluation>> {
  const local = await evaluateStack({ stack: "local", extraConfig });
  const staging = await evaluateStack({ stack: "staging", extraConfig });
  const production = await evaluateStack({ stack: "production", extraConfig });
  return { local, staging, production };
}
