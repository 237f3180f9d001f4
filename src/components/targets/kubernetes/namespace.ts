import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { KubeContext, networkPolicy } from "./objects";
import { LABELS } from "./workload";

export interface NamespaceArgs {
  project: string;
  stack: string;
  namespace: string;
  provider: k8s.Provider;
  /** Read-only DOCR Docker config JSON (secret). */
  pullSecretJson: pulumi.Input<string>;
}

/** Pod Security Admission: every pod of the stack meets the "restricted" profile, so it is enforced. */
export const POD_SECURITY = "restricted";
export const CSI_PROVISIONER = "dobs.csi.digitalocean.com";

/**
 * The namespace tier (`djangostack:kubernetes:Namespace`): the namespace with Pod Security Admission
 * labels, the image pull secret, a Retain StorageClass for data volumes, a default-deny policy for
 * both directions and the one allow every pod needs (DNS).
 */
export class KubernetesNamespace extends pulumi.ComponentResource {
  readonly context: KubeContext;
  readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: NamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:kubernetes:Namespace", name, {}, opts);
    const common = { [LABELS.partOf]: args.project, [LABELS.instance]: args.stack, [LABELS.managedBy]: "pulumi" };
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: args.namespace,
          labels: {
            ...common,
            "pod-security.kubernetes.io/enforce": POD_SECURITY,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": POD_SECURITY,
            "pod-security.kubernetes.io/warn": POD_SECURITY,
          },
        },
      },
      { provider: args.provider, parent: this },
    );
    const namespace = this.namespace.metadata.name;
    // DOCR pulls do not wait for DOKS's registry integration to copy its secret into a new namespace.
    const pull = new k8s.core.v1.Secret(
      `${name}-registry-pull`,
      { metadata: { namespace, labels: common }, type: "kubernetes.io/dockerconfigjson", stringData: { ".dockerconfigjson": pulumi.secret(args.pullSecretJson) } },
      { provider: args.provider, parent: this },
    );
    // Data volumes outlive their claim: deleting a PVC (or the stack) never deletes the disk.
    const storage = new k8s.storage.v1.StorageClass(
      `${name}-retain`,
      {
        metadata: { name: `${args.namespace}-retain`, labels: common },
        provisioner: CSI_PROVISIONER,
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
      },
      { provider: args.provider, parent: this },
    );
    this.context = {
      name: args.stack,
      project: args.project,
      stack: args.stack,
      namespace,
      provider: args.provider,
      pullSecret: pull.metadata.name,
      storageClass: storage.metadata.name,
    };
    networkPolicy(this.context, "default-deny", {}, { ingress: [], egress: [] }, this);
    networkPolicy(
      this.context,
      "allow-dns",
      {},
      {
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
      this,
    );
    this.registerOutputs({ namespace });
  }
}
