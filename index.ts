import { loadConfig } from "./src/config/load";
import { createStack } from "./src/stack";

// Config is validated completely before any resource is registered; every key of the returned
// object becomes a stack output (the v1 contract plus the target's own outputs).
const { config, supplied } = loadConfig();
export = createStack(config, supplied);
