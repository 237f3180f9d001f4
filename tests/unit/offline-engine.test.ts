import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import { runOffline } from "../../src/offline/engine";

const base = { project: "p", stack: "s", config: {}, secretKeys: [] };

describe("offline engine", () => {
  it("fails, as pulumi up would, when an input cannot be resolved (a throwing apply), instead of returning a partial graph", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "fixtures", "throwing-apply.ts")], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^rejected: the program failed while registering resources: .*no such container name/m);
  });

  it("evaluates a program whose inputs all resolve", async () => {
    const r = await runOffline({ ...base, program: () => ({ name: new docker.Network("a", { name: "x" }).name }) });
    assert.deepEqual(r.engine.resources.map((x) => x.name), ["p-s", "a"]);
  });
});
