/**
 * Issue 11: the edge's config keys, each refused with the key, the value and what is allowed, and
 * the shapes the seeds need accepted.
 */
import { describe } from "node:test";
import { BadInput, accepts, refuses } from "./config-helpers";

describe("edge config (issue 11)", () => {
  const cases: BadInput[] = [
    // item 5: HSTS options
    ["HSTS preload without includeSubDomains", { edge: { hstsPreload: true } }, "djangostack:edge.hstsPreload", "needs edge.hstsIncludeSubDomains true"],
    ["HSTS preload with less than a year", { edge: { hstsPreload: true, hstsIncludeSubDomains: true, hstsSeconds: 86400 } }, "djangostack:edge.hstsPreload", "at least 31536000"],
    ["HSTS includeSubDomains not a boolean", { edge: { hstsIncludeSubDomains: "yes" } }, "djangostack:edge.hstsIncludeSubDomains", "true or false"],
  ];
  refuses(cases);
  accepts([["HSTS with includeSubDomains and preload for two years", { edge: { hstsSeconds: 63072000, hstsIncludeSubDomains: true, hstsPreload: true } }]]);
});
