import YAML from "yaml";

export interface ExecKubeconfigArgs {
  clusterName: string;
  clusterId: string;
  /** API server URL, e.g. https://<id>.k8s.ondigitalocean.com */
  endpoint: string;
  /** Base64 PEM of the cluster CA, as DigitalOcean returns it. */
  caCertificate: string;
}

/** The doctl invocation client-go runs for a fresh, short-lived token on every connection. */
export function doctlExecArgs(clusterId: string): string[] {
  return ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", clusterId];
}

/**
 * A kubeconfig that holds no credential at all: client-go asks `doctl` for a token each time
 * (the same exec plugin `doctl kubernetes cluster kubeconfig save` writes). Nothing in Pulumi state
 * can expire, so `pulumi up`, `refresh` and `destroy` keep working after DigitalOcean's 7-day token
 * lifetime. doctl authenticates with DIGITALOCEAN_ACCESS_TOKEN, the token the DigitalOcean provider uses.
 */
export function execKubeconfig(args: ExecKubeconfigArgs): string {
  const context = `do-${args.clusterName}`;
  const user = `${context}-doctl`;
  return YAML.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: context, cluster: { server: args.endpoint, "certificate-authority-data": args.caCertificate } }],
    users: [
      {
        name: user,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "doctl",
            args: doctlExecArgs(args.clusterId),
            interactiveMode: "Never",
            provideClusterInfo: false,
            installHint: "Install doctl (https://docs.digitalocean.com/reference/doctl/how-to/install/) and export DIGITALOCEAN_ACCESS_TOKEN.",
          },
        },
      },
    ],
    contexts: [{ name: context, context: { cluster: context, user } }],
    "current-context": context,
  });
}
