import { PolicyPack } from "@pulumi/policy";
import { rules } from "./rules";

// `pulumi preview --policy-pack policy` (or `up`): every rule is mandatory.
new PolicyPack("djangostack", {
  policies: rules.map((rule) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
      for (const problem of rule.check({ type: args.type, props: args.props, opts: args.opts })) reportViolation(problem);
    },
  })),
});
