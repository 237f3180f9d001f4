import { Deployer } from "../types";

// Being built in this session; stack.ts dispatches here for target "kubernetes".
export const deployKubernetes: Deployer = () => {
  throw new Error('djangostack: target "kubernetes" is not available yet');
};
