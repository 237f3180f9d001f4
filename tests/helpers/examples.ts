/** The seed systems under examples/: one Pulumi project each (Pulumi.yaml with `main: ../..`), its environments as stack files. */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../src/offline/render";

export const EXAMPLES = ["kore", "ticket-tracking", "ecommerce", "admin2"] as const;
export type Example = (typeof EXAMPLES)[number];

/** examples/<name>: the project directory to hand evaluateStack/readStackConfig as projectDir. */
export function exampleDir(example: Example): string {
  return path.join(REPO_ROOT, "examples", example);
}

/** The stacks an example has: its Pulumi.<stack>.yaml files. */
export function exampleStacks(example: Example): string[] {
  return fs.readdirSync(exampleDir(example)).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
}

/** Every stack of every example, labelled `<example>/<stack>`. */
export function allExampleStacks(): { label: string; stack: string; projectDir: string }[] {
  return EXAMPLES.flatMap((example) => exampleStacks(example).map((stack) => ({ label: `${example}/${stack}`, stack, projectDir: exampleDir(example) })));
}
