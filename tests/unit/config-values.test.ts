import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DROPLET_IMAGES, DROPLET_SIZES, REGIONS, diskGiB } from "../../src/config/slugs";
import { BadInput, accepts, onDroplet, refuses } from "./config-helpers";

const k8s = (kubernetes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ target: "kubernetes", domain: "example.com", ...extra, kubernetes });
const app = (a: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...extra, apps: [a] });

describe("slug tables", () => {
  it("hold the documented regions and families, nothing retired", () => {
    for (const r of ["nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"]) assert.ok(REGIONS.includes(r), r);
    for (const s of ["s-1vcpu-1gb", "s-2vcpu-4gb", "c-4", "c2-4vcpu-8gb", "g-2vcpu-8gb", "gd-2vcpu-8gb", "m-2vcpu-16gb", "m3-2vcpu-16gb", "m6-2vcpu-16gb", "so-2vcpu-16gb", "so1_5-2vcpu-16gb"]) assert.ok(DROPLET_SIZES.includes(s), s);
    for (const s of ["512mb", "1gb", "s-1vcpu-3gb", "s-8vcpu-32gb", "gpu-h100x1-80gb"]) assert.ok(!DROPLET_SIZES.includes(s), s);
  });

  it("know the disk of the common plans (pricing page)", () => {
    assert.deepEqual(
      ["s-1vcpu-512mb-10gb", "s-1vcpu-1gb", "s-2vcpu-4gb", "s-4vcpu-8gb-amd", "s-2vcpu-4gb-120gb-intel", "c-2", "c-48", "c2-2vcpu-4gb", "g-2vcpu-8gb", "gd-40vcpu-160gb", "m-2vcpu-16gb", "m6-32vcpu-256gb", "so1_5-32vcpu-256gb"].map(diskGiB),
      [10, 25, 80, 160, 120, 25, 600, 50, 25, 1000, 50, 4800, 7200],
    );
  });
});

describe("values that would fail only at the provider or on the host", () => {
  const cases: BadInput[] = [
    // regions
    ["unknown region", { region: "nyc4" }, "djangostack:region", "known regions"],
    ["AWS region name", { region: "us-east-1" }, "djangostack:region", '"nyc3"'],
    ["uppercase region", { region: "FRA1" }, "djangostack:region", "region slug"],
    ["region display name", { region: "Frankfurt 1" }, "djangostack:region", "region slug"],
    ["retired region ams1", { region: "ams1" }, "djangostack:region", "known regions"],
    ["region without DOKS", { target: "kubernetes", domain: "example.com", region: "nyc2" }, "djangostack:region", "not offered in nyc2"],
    ["sfo1 on kubernetes", { target: "kubernetes", domain: "example.com", region: "sfo1" }, "djangostack:region", 'allowed for target "kubernetes"'],
    // Droplet sizes
    ["size that does not exist", onDroplet({ size: "s-2vcpu-5gb" }), "djangostack:droplet.size", "known s-* sizes with 2 vCPUs: s-2vcpu-2gb"],
    ["size of an unknown family", onDroplet({ size: "t2.micro" }), "djangostack:droplet.size", "shaped like s-2vcpu-4gb"],
    ["memory-named legacy size", onDroplet({ size: "2gb" }), "djangostack:droplet.size", "retired in 2018"],
    ["retired Basic plan", onDroplet({ size: "s-8vcpu-32gb" }), "djangostack:droplet.size", "retired plan"],
    ["GPU plan", onDroplet({ size: "gpu-h100x1-80gb" }), "djangostack:droplet.size", "GPU plans are not supported"],
    ["CPU-optimized of a size not offered", onDroplet({ size: "c-6" }), "djangostack:droplet.size", "known c-* sizes"],
    ["typo in the family", onDroplet({ size: "s2-vcpu-4gb" }), "djangostack:droplet.size", "shaped like"],
    ["uppercase size", onDroplet({ size: "S-2VCPU-4GB" }), "djangostack:droplet.size", "shaped like"],
    ["memory-optimized 3 vCPUs", onDroplet({ size: "m-3vcpu-24gb" }), "djangostack:droplet.size", "known m-* sizes"],
    // node sizes
    ["unknown node size", k8s({ workloadPool: { size: "s-4vcpu-9gb" } }), "djangostack:kubernetes.workloadPool.size", "known s-* sizes with 4 vCPUs"],
    ["system pool node size with a typo", k8s({ systemPool: { size: "s-2cpu-2gb" } }), "djangostack:kubernetes.systemPool.size", "shaped like"],
    ["node size as a display name", k8s({ workloadPool: { size: "Basic 4GB" } }), "djangostack:kubernetes.workloadPool.size", "size slug"],
    // images
    ["Debian image the bootstrap does not support", onDroplet({ image: "debian-12-x64" }), "djangostack:droplet.image", '"ubuntu-24-04-x64", "ubuntu-22-04-x64"'],
    ["non-LTS Ubuntu", onDroplet({ image: "ubuntu-25-04-x64" }), "djangostack:droplet.image", "supported images"],
    ["Fedora", onDroplet({ image: "fedora-40-x64" }), "djangostack:droplet.image", "supported images"],
    ["a 1-click app image", onDroplet({ image: "docker-20-04" }), "djangostack:droplet.image", "supported images"],
    ["a snapshot id", onDroplet({ image: "158791043" }), "djangostack:droplet.image", "supported images"],
    ["old Ubuntu LTS", onDroplet({ image: "ubuntu-20-04-x64" }), "djangostack:droplet.image", "supported images"],
    // deploy users
    ["root as deploy user", onDroplet({ deployUser: "root" }), "djangostack:droplet.deployUser", "system user or group"],
    ["nobody", onDroplet({ deployUser: "nobody" }), "djangostack:droplet.deployUser", "system user or group"],
    ["daemon", onDroplet({ deployUser: "daemon" }), "djangostack:droplet.deployUser", "system user or group"],
    ["bin", onDroplet({ deployUser: "bin" }), "djangostack:droplet.deployUser", "system user or group"],
    ["sys", onDroplet({ deployUser: "sys" }), "djangostack:droplet.deployUser", "system user or group"],
    ["www-data", onDroplet({ deployUser: "www-data" }), "djangostack:droplet.deployUser", "system user or group"],
    ["sshd", onDroplet({ deployUser: "sshd" }), "djangostack:droplet.deployUser", "system user or group"],
    ["systemd-network", onDroplet({ deployUser: "systemd-network" }), "djangostack:droplet.deployUser", "system user or group"],
    ["the image's default user", onDroplet({ deployUser: "ubuntu" }), "djangostack:droplet.deployUser", "system user or group"],
    ["the docker group", onDroplet({ deployUser: "docker" }), "djangostack:droplet.deployUser", "system user or group"],
    ["the sudo group", onDroplet({ deployUser: "sudo" }), "djangostack:droplet.deployUser", "system user or group"],
    ["a leading underscore (system convention)", onDroplet({ deployUser: "_apt" }), "djangostack:droplet.deployUser", "starting with a letter"],
    ["uppercase user", onDroplet({ deployUser: "Deploy" }), "djangostack:droplet.deployUser", "lowercase"],
    ["user with a dollar", onDroplet({ deployUser: "deploy$" }), "djangostack:droplet.deployUser", "Linux user name"],
    ["numeric user (read as a uid)", onDroplet({ deployUser: "1000" }), "djangostack:droplet.deployUser", "starting with a letter"],
    ["user name of 33 characters", onDroplet({ deployUser: "a".repeat(33) }), "djangostack:droplet.deployUser", "1-32"],
    // namespaces
    ["kube-system namespace", k8s({ namespace: "kube-system" }), "djangostack:kubernetes.namespace", "belong to the cluster"],
    ["kube-public namespace", k8s({ namespace: "kube-public" }), "djangostack:kubernetes.namespace", "kube-system, kube-public, kube-node-lease"],
    ["kube-node-lease namespace", k8s({ namespace: "kube-node-lease" }), "djangostack:kubernetes.namespace", "belong to the cluster"],
    ["default namespace", k8s({ namespace: "default" }), "djangostack:kubernetes.namespace", '"default"'],
    ["any kube- prefix", k8s({ namespace: "kube-shop" }), "djangostack:kubernetes.namespace", '"kube-*"'],
    ["uppercase namespace", k8s({ namespace: "Shop" }), "djangostack:kubernetes.namespace", "DNS label"],
    ["namespace with a dot", k8s({ namespace: "shop.prod" }), "djangostack:kubernetes.namespace", "DNS label"],
    // ports
    ["same HTTP and HTTPS port", { edge: { httpPort: 8080, httpsPort: 8080 } }, "djangostack:edge.httpsPort", "must differ from edge.httpPort (8080)"],
    ["HTTPS port equal to the default HTTP port", { edge: { httpsPort: 8080 } }, "djangostack:edge.httpsPort", "must differ"],
    ["both 443 on a droplet", onDroplet({}, { edge: { httpPort: 443, httpsPort: 443 } }), "djangostack:edge.httpsPort", "separate ports"],
    ["Let's Encrypt on a Droplet off port 80", onDroplet({}, { domain: "shop.example.com", edge: { httpPort: 8061, tls: { mode: "letsencrypt", email: "ops@example.com" } } }), "djangostack:edge.httpPort", "port 80 only"],
    // nginx
    ["nginx below the resolver floor", { edge: { nginxVersion: "1.26" } }, "djangostack:edge.nginxVersion", "below 1.27.3"],
    ["nginx 1.27.2", { edge: { nginxVersion: "1.27.2" } }, "djangostack:edge.nginxVersion", "from 1.27.3 on"],
    ["ancient nginx", { edge: { nginxVersion: "1.18.0" } }, "djangostack:edge.nginxVersion", "below 1.27.3"],
    ["nginx as a bare major", { edge: { nginxVersion: "1" } }, "djangostack:edge.nginxVersion", "MAJOR.MINOR"],
    ["nginx as a YAML number 1.2", { edge: { nginxVersion: 1.2 } }, "djangostack:edge.nginxVersion", "below 1.27.3"],
    ["nginx with a variant suffix", { edge: { nginxVersion: "1.28-perl" } }, "djangostack:edge.nginxVersion", "MAJOR.MINOR"],
    ["nginx 'latest'", { edge: { nginxVersion: "latest" } }, "djangostack:edge.nginxVersion", "such as 1.28"],
    // swap
    ["swap above a quarter of the disk", onDroplet({ size: "s-1vcpu-1gb", swapGiB: 8 }), "djangostack:droplet.swapGiB", "25 GiB disk"],
    ["swap on the 10 GiB plan", onDroplet({ size: "s-1vcpu-512mb-10gb", swapGiB: 4 }), "djangostack:droplet.swapGiB", "allowed: 0 to 2"],
    ["swap equal to the disk", onDroplet({ size: "s-2vcpu-4gb", swapGiB: 64 }), "djangostack:droplet.swapGiB", "allowed: 0 to 20"],
    // replicas
    ["worker at 0 on docker (still runs one)", app({ workers: [{ replicas: 0 }], beat: false }), "djangostack:apps[0].workers[0].replicas", 'runs at least one container per worker pool'],
    ["worker at 0 on a droplet", onDroplet({}, app({ workers: [{ replicas: 0 }], beat: false })), "djangostack:apps[0].workers[0].replicas", 'allowed on target "kubernetes"'],
    ["web replicas 0", app({ replicas: 0 }), "djangostack:apps[0].replicas", "from 1 to 100"],
    ["edge replicas 0", { edge: { replicas: 0 } }, "djangostack:edge.replicas", "from 1 to 20"],
    ["the only pool at 0 while beat runs", k8s({}, app({ workers: [{ replicas: 0 }] })), "djangostack:apps[0].workers[0].replicas", 'no other pool with replicas >= 1 consumes "celery"'],
    ["a queue nobody else consumes at 0 with beat", k8s({}, app({ workers: [{ name: "default" }, { name: "emails", queues: ["emails"], replicas: 0 }] })), "djangostack:apps[0].workers[1].replicas", '"emails"'],
  ];
  refuses(cases);

  accepts([
    ["every supported image", onDroplet({ image: DROPLET_IMAGES[1] })],
    ["atl1", { region: "atl1" }],
    ["a dedicated Droplet", onDroplet({ size: "g-2vcpu-8gb", swapGiB: 6 })],
    ["an Intel plan whose disk the table does not know", onDroplet({ size: "g-2vcpu-8gb-intel", swapGiB: 8 })],
    ["swap 0", onDroplet({ size: "s-4vcpu-8gb", swapGiB: 0 })],
    ["nginx 1.27 (newest patch)", { edge: { nginxVersion: "1.27" } }],
    ["nginx 1.29.1", { edge: { nginxVersion: "1.29.1" } }],
    ["a worker at 0 on kubernetes without beat", k8s({}, app({ workers: [{ replicas: 0 }], beat: false }))],
    ["a worker at 0 whose queue another pool serves", k8s({}, app({ workers: [{ name: "a" }, { name: "b", replicas: 0 }] }))],
    ["deploy user 'app-deploy'", onDroplet({ deployUser: "app-deploy" })],
    ["namespace 'shop'", k8s({ namespace: "shop" })],
  ]);
});
