import { PolicyPack, PolicyResourceOptions, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { CheckedResource, rules, stackRules } from "./rules";

/** urn:pulumi:<stack>::<project>::<type>::<name> */
const stackOf = (urn: string): string => urn.slice("urn:pulumi:".length, urn.indexOf("::"));

/** What the rules see of a resource; CrossGuard does not expose retainOnDelete, so it stays undefined (unknown). */
const checked = (r: { type: string; props: Record<string, unknown>; opts: PolicyResourceOptions; urn: string }): CheckedResource => ({
  type: r.type,
  props: r.props,
  opts: { protect: r.opts.protect },
  stack: stackOf(r.urn),
});

// `pulumi preview --policy-pack policy` (or `up`): every rule is mandatory.
new PolicyPack("djangostack", {
  policies: [
    ...rules.map((rule) => ({
      name: rule.name,
      description: rule.description,
      enforcementLevel: "mandatory" as const,
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const problem of rule.check(checked(args))) reportViolation(problem);
      },
    })),
    ...stackRules.map((rule) => ({
      name: rule.name,
      description: rule.description,
      enforcementLevel: "mandatory" as const,
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const problem of rule.checkStack(args.resources.map(checked))) reportViolation(problem);
      },
    })),
  ],
});
