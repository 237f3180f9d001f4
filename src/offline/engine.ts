import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { fakeInvokes, fakeOutputs } from "./fakes";

/** One resource as the program registered it. */
export interface RecordedResource {
  type: string;
  name: string;
  parent?: string;
  /** Inputs exactly as they reached the engine: secrets still wrapped with the wire signature. */
  inputs: Record<string, unknown>;
  provider?: string;
  /** Resource options as the program passed them (mocks never see these). */
  options: RecordedOptions;
}

export interface RecordedOptions {
  dependsOn: string[];
  protect?: boolean;
  deleteBeforeReplace?: boolean;
  retainOnDelete?: boolean;
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  /** Name of the explicit provider resource, when one was passed. */
  provider?: string;
}

function nameOf(resource: unknown): string | undefined {
  return (resource as NamedResource | undefined)?.__name;
}

function recordOptions(opts: pulumi.ResourceOptions): RecordedOptions {
  const deps = Array.isArray(opts.dependsOn) ? opts.dependsOn : opts.dependsOn ? [opts.dependsOn] : [];
  const custom = opts as pulumi.CustomResourceOptions;
  return {
    dependsOn: deps.map(nameOf).filter((n): n is string => n !== undefined),
    protect: opts.protect,
    deleteBeforeReplace: custom.deleteBeforeReplace,
    retainOnDelete: opts.retainOnDelete,
    ignoreChanges: opts.ignoreChanges,
    replaceOnChanges: opts.replaceOnChanges,
    provider: nameOf(custom.provider),
  };
}

const STACK_REFERENCE = "pulumi:pulumi:StackReference";

interface NamedResource {
  __name?: string;
}

/**
 * The offline engine: `pulumi.runtime.setMocks` with provider outputs filled in from `fakes.ts`,
 * recording every resource (providers and components included) with its parent.
 */
export class OfflineEngine implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  private readonly parents = new Map<string, string>();
  private readonly options = new Map<string, RecordedOptions>();

  /** `stackOutputs`: what other stacks export, for the program's StackReferences (by stack name). */
  constructor(private readonly stackOutputs: Record<string, Record<string, unknown>> = {}) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    const key = `${args.type}::${args.name}`;
    this.resources.push({ type: args.type, name: args.name, parent: this.parents.get(key), inputs, provider: args.provider, options: this.options.get(key) ?? { dependsOn: [] } });
    if (args.type === STACK_REFERENCE) return { id: String(inputs.name), state: { ...inputs, outputs: this.referencedOutputs(String(inputs.name)), secretOutputNames: [] } };
    const fake = fakeOutputs[args.type];
    const outputs = fake ? fake(inputs, args.name) : {};
    // A fake may give the ID the provider would (DigitalOcean Droplet IDs are numeric).
    const id = typeof outputs.id === "string" ? outputs.id : `${args.name}-id`;
    return { id, state: { ...inputs, ...outputs } };
  }

  /** The real engine fails a StackReference to a stack it cannot read; so does this one. */
  private referencedOutputs(stack: string): Record<string, unknown> {
    const outputs = this.stackOutputs[stack];
    if (!outputs) throw new Error(`offline engine: the program reads stack ${stack} through a StackReference, and no outputs were given for it (render: --reference ${stack}=<outputs.json>)`);
    return outputs;
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const fake = fakeInvokes[args.token];
    if (!fake) throw new Error(`offline engine: no fake for invoke ${args.token}; add one to src/offline/fakes*.ts`);
    return fake(args.inputs as Record<string, unknown>);
  }

  /** Mocks are not told parents or options; a stack transformation sees both before registration. */
  readonly transformation: pulumi.ResourceTransformation = (args) => {
    const parent = nameOf(args.opts.parent);
    const key = `${args.type}::${args.name}`;
    if (parent) this.parents.set(key, parent);
    this.options.set(key, recordOptions(args.opts));
    return undefined;
  };
}


/**
 * Waits until every resource registration the program started has reached the engine: the SDK's
 * RPC queue drain, internal but what the language host awaits before a program exits.
 */
async function settleRegistrations(): Promise<void> {
  await settings.waitForRPCs();
}

export interface OfflineRun {
  engine: OfflineEngine;
  exports: Record<string, unknown>;
}

/**
 * Evaluates a Pulumi program module under the offline engine with the given stack config
 * (`namespace:key` -> string, as `pulumi config` stores it).
 */
export interface OfflineProgram {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  program: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Other stacks' outputs, by stack name, for StackReferences. */
  stackOutputs?: Record<string, Record<string, unknown>>;
}

export async function runOffline(options: OfflineProgram): Promise<OfflineRun> {
  const engine = new OfflineEngine(options.stackOutputs);
  // An input that fails to resolve (a throwing apply) rejects a registration the program never
  // awaits: `pulumi up` fails on it, so the offline run must too, not report a partial graph.
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    return await evaluate(engine, options, rejections);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

async function evaluate(engine: OfflineEngine, options: OfflineProgram, rejections: unknown[]): Promise<OfflineRun> {
  pulumi.runtime.setAllConfig(options.config, options.secretKeys);
  await pulumi.runtime.setMocks(engine, options.project, options.stack, false);
  let exports: Record<string, unknown> = {};
  let failure: unknown;
  // Inside a root Stack resource, as `pulumi up` runs a program, so stack transformations apply.
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(engine.transformation);
    try {
      exports = await options.program();
    } catch (error) {
      failure = error;
    }
    return undefined;
  });
  if (failure !== undefined) throw failure;
  await settleRegistrations();
  // Rejections are reported on the next turns of the event loop.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (rejections.length > 0) {
    // One failed Output fails every input built from it: say each distinct reason once.
    const messages = [...new Set(rejections.map((r) => (r instanceof Error ? r.message : String(r))))];
    throw new Error(`the program failed while registering resources: ${messages.join("; ")}`);
  }
  return { engine, exports };
}

/** Resolves every Output in a value; secret ones become `placeholder` (or their value when `reveal`). */
export async function resolveOutputs(value: unknown, placeholder = "[secret]", reveal = false): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    if (!reveal && (await pulumi.isSecret(value))) return placeholder;
    const inner = await new Promise<unknown>((resolve) => value.apply((v) => resolve(v)));
    return resolveOutputs(inner, placeholder, reveal);
  }
  if (value instanceof Promise) return resolveOutputs(await value, placeholder, reveal);
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveOutputs(v, placeholder, reveal)));
  if (typeof value === "object" && value !== null && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutputs(v, placeholder, reveal)] as const));
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  }
  return value;
}
