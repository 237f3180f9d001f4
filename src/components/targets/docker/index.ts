import { Deployer } from "../types";

export const deployLocal: Deployer = () => {
  throw new Error('djangostack: target "docker" is not available yet');
};
