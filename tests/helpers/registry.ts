/** What the offline engine's registry answers for a public image tag (its stand-in for docker.getRegistryImage). */
import { fakeInvokes } from "../../src/offline/fakes";

export const registryDigest = (ref: string): string => String(fakeInvokes["docker:index/getRegistryImage:getRegistryImage"]({ name: ref }).sha256Digest);

/** `ref` pinned to that digest, as the program pins public images. */
export const registryPinned = (ref: string): string => `${ref}@${registryDigest(ref)}`;
