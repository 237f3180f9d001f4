import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { EgressOutputV1 } from "../../../../packages/outputs/src/index";
import { DropletEgress } from "../../../config/types";
import { EGRESS_UNIT, egressInstallCommand, egressRemoveCommand } from "../../../render/egress";

export interface DropletEgressArgs {
  mode: DropletEgress;
  /** The reserved IP: what the deploy user reaches the host on, and the egress address. */
  reservedIp: pulumi.Output<string>;
  dropletIp: pulumi.Output<string>;
  dropletId: pulumi.Input<string>;
  deployUser: string;
  /** The host is ready for commands (cloud-init finished). */
  bootstrap: pulumi.Resource;
}

/**
 * `droplet.egress`: with `reserved-ip`, a systemd timer on the Droplet keeps the default route on the
 * reserved IP's anchor gateway (src/render/egress.ts), installed over SSH after the bootstrap.
 */
export class DropletEgressRoute extends pulumi.ComponentResource {
  readonly info: pulumi.Output<EgressOutputV1>;
  readonly route?: command.remote.Command;

  constructor(name: string, args: DropletEgressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:droplet:Egress", name, {}, opts);
    if (args.mode === "reserved-ip") {
      this.route = new command.remote.Command(
        `${name}-route`,
        {
          connection: { host: args.reservedIp, user: args.deployUser, dialErrorLimit: 20, perDialTimeout: 15 },
          // A change of `create` runs it again in place (pulumi-command remote/command.go Update).
          create: egressInstallCommand(),
          delete: egressRemoveCommand(),
          // `triggers` and `connection` are replaceOnChanges (remote/command.go CommandArgs): a new Droplet
          // gets the timer again.
          triggers: [args.dropletId],
        },
        // Delete first: the old resource's delete runs over the same reserved IP, so on the new Droplet;
        // after the new create it would remove the timer just installed.
        { parent: this, dependsOn: [args.bootstrap], deleteBeforeReplace: true },
      );
      this.info = pulumi.all([args.reservedIp, this.route.stdout]).apply(([address]) => ({
        address,
        stable: true,
        note: `outbound traffic leaves from the reserved IP ${address} (default route through its anchor gateway, kept by ${EGRESS_UNIT}.timer); allow-list it at external services`,
      }));
    } else {
      this.info = args.dropletIp.apply((address) => ({
        address,
        stable: false,
        note: `droplet.egress is "droplet-ip": outbound traffic leaves from the Droplet's own IP ${address}, which changes when the Droplet is replaced; set "reserved-ip" for an address external allow-lists can keep`,
      }));
    }
    this.registerOutputs({ info: this.info });
  }
}
