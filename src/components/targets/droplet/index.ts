import { Deployer } from "../types";

// Being built in this session; stack.ts dispatches here for target "droplet".
export const deployDroplet: Deployer = () => {
  throw new Error('djangostack: target "droplet" is not available yet');
};
