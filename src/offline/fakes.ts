import { fakeDigest, fakeHex } from "./fake-values";
import { wireSecret } from "./secret";
import { dropletFakes, dropletInvokes } from "./fakes-droplet";
import { kubernetesFakes, kubernetesInvokes } from "./fakes-kubernetes";

/** Provider outputs the offline engine invents for a resource type, given its inputs. */
export type FakeOutputs = (inputs: Record<string, unknown>, name: string) => Record<string, unknown>;
/** Results of a data-source call (invoke), given its arguments. */
export type FakeInvoke = (args: Record<string, unknown>) => Record<string, unknown>;

const coreFakes: Record<string, FakeOutputs> = {
  // The real engine marks the result secret; returning it wrapped keeps the render faithful. A
  // replacement (new keepers: a rotation) draws a new value, so what reads it changes as it would.
  "random:index/randomPassword:RandomPassword": (inputs, name) => {
    const length = Number(inputs.length ?? 32);
    const keepers = inputs.keepers === undefined ? "" : `:${JSON.stringify(inputs.keepers)}`;
    const result = `offline${fakeHex(`pw:${name}${keepers}`, 64)}`.slice(0, length);
    return { result: wireSecret(result), bcryptHash: wireSecret(`$2a$10$${fakeHex(`bcrypt:${name}`, 53)}`) };
  },
  "docker-build:index:Image": (inputs, name) => {
    const digest = fakeDigest(`image:${name}`);
    const tags = Array.isArray(inputs.tags) ? (inputs.tags as string[]) : [];
    const tag = tags[0] ?? name;
    return { digest, ref: inputs.push ? `${tag}@${digest}` : tag, contextHash: fakeHex(`ctx:${name}`) };
  },
  "docker:index/network:Network": (_inputs, name) => ({ id: fakeHex(`net:${name}`, 12) }),
  "docker:index/volume:Volume": (inputs, name) => ({ mountpoint: `/var/lib/docker/volumes/${String(inputs.name ?? name)}/_data` }),
  // Pulled images (RemoteImage) give containers an image ID: one per reference, so a new app digest
  // yields a new ID exactly where the real engine would.
  "docker:index/remoteImage:RemoteImage": (inputs) => {
    const ref = String(inputs.name ?? "image");
    return { imageId: `sha256:${fakeHex(`image-id:${ref}`)}`, repoDigest: ref.includes("@") ? ref : `${ref.split(":")[0]}@sha256:${fakeHex(`repo-digest:${ref}`)}` };
  },
  // The bridge auto-names a container the program leaves unnamed: its resource name plus 7 random hex characters.
  "docker:index/container:Container": (inputs, name) => ({ name: inputs.name ?? `${name}-${fakeHex(`ctrname:${name}`, 7)}`, network_data: [], id: fakeHex(`ctr:${name}`) }),
};

export const fakeOutputs: Record<string, FakeOutputs> = { ...coreFakes, ...dropletFakes, ...kubernetesFakes };
export const fakeInvokes: Record<string, FakeInvoke> = { ...dropletInvokes, ...kubernetesInvokes };
