import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

/**
 * Where deploy-time `docker` CLI scripts run: on the machine running `pulumi up`, against the local
 * engine or the configured `docker.host` (as DOCKER_HOST), or on the Docker host itself over SSH (the
 * Droplet, whose deploy user is in the docker group).
 */
export type DockerCli = { kind: "local"; host?: string } | { kind: "ssh"; host: pulumi.Input<string>; user: string };

export interface DockerScriptArgs {
  script: pulumi.Input<string>;
  /** A change to any of these runs the script again (pulumi-command replaces the Command). */
  triggers: pulumi.Input<unknown>[];
  timeout?: string;
  /** Given to the script on standard input (a secret input of the Command): how secrets reach it, never argv. */
  stdin?: pulumi.Input<string>;
}

/**
 * One run of a `docker` script as a Command. pulumi-command returns a failed create without an ID,
 * so the engine records nothing and the next `up` runs it again (pulumi-command v1.2.1
 * provider/pkg/provider/{local,remote}/commandController.go Create; pulumi-go-provider v1.3.0
 * infer/resource.go Create returns an empty response for any error but ResourceInitFailedError).
 */
export function dockerScript(name: string, cli: DockerCli, args: DockerScriptArgs, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const customTimeouts = { create: args.timeout ?? "30m" };
  if (cli.kind === "ssh") {
    const connection = { host: cli.host, user: cli.user, dialErrorLimit: 20, perDialTimeout: 15 };
    return new command.remote.Command(name, { connection, create: args.script, triggers: args.triggers, stdin: args.stdin }, { ...opts, customTimeouts });
  }
  return new command.local.Command(
    name,
    { create: args.script, triggers: args.triggers, stdin: args.stdin, interpreter: ["/bin/sh", "-c"], environment: cli.host ? { DOCKER_HOST: cli.host } : undefined },
    { ...opts, customTimeouts },
  );
}

/** How a user reads a container's output on this engine. */
export function logsCommandFor(cli: DockerCli, container: pulumi.Input<string>): pulumi.Output<string> {
  if (cli.kind === "ssh") return pulumi.interpolate`ssh ${cli.user}@${cli.host} docker logs ${container}`;
  return pulumi.interpolate`${cli.host ? `DOCKER_HOST=${cli.host} ` : ""}docker logs ${container}`;
}
