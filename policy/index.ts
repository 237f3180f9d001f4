import { PolicyPack, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { rules, stackRules } from "./rules";

// `pulumi preview --policy-pack policy` (or `up`): every rule is mandatory.
new PolicyPack("djangostack", {
  policies: [
    ...rules.map((rule) => ({
      name: rule.name,
      description: rule.description,
      enforcementLevel: "mandatory" as const,
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const problem of rule.check({ type: args.type, props: args.props, opts: args.opts })) reportViolation(problem);
      },
    })),
    ...stackRules.map((rule) => ({
      name: rule.name,
      description: rule.description,
      enforcementLevel: "mandatory" as const,
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const problem of rule.checkStack(args.resources.map((r) => ({ type: r.type, props: r.props, opts: r.opts })))) reportViolation(problem);
      },
    })),
  ],
});
