/**
 * A throwaway nginx with a rendered nginx.conf, run unprivileged (www-data, like the
 * nginx-unprivileged image) in the foreground with its prefix in a temp dir. The config is
 * checked with `nginx -t` first so a syntax error fails with nginx's own message.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ServerProcess, User, chownR, portOpen, requireBinary, run, spawnServer, systemUser, tempDir, waitReady } from "./process";

export interface NginxServer {
  dir: string;
  configFile: string;
  server: ServerProcess;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** Rendered nginx.conf text (already pointing at loopback upstreams, ports and temp paths). */
  config: string;
  /** Ports nginx must be listening on before it counts as ready. */
  ports: number[];
  /** Reuse a prefix dir the test prepared (static files, certs); default a new temp dir. */
  dir?: string;
  label?: string;
}

export function nginxUser(): User {
  return systemUser("www-data", "base-passwd");
}

export async function startNginx(opts: NginxOptions): Promise<NginxServer> {
  const nginx = requireBinary("/usr/sbin/nginx", "nginx-light");
  const user = nginxUser();
  const dir = opts.dir ?? tempDir(opts.label ?? "nginx");
  fs.mkdirSync(path.join(dir, "conf"), { recursive: true });
  fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  const configFile = path.join(dir, "conf", "nginx.conf");
  fs.writeFileSync(configFile, opts.config);
  chownR(dir, user);
  const globals: string[] = [];
  if (!/^\s*daemon\s/m.test(opts.config)) globals.push("daemon off;");
  if (!/^\s*pid\s/m.test(opts.config)) globals.push(`pid ${path.join(dir, "nginx.pid")};`);
  const args = ["-p", `${dir}/`, "-c", configFile, "-e", "stderr", ...(globals.length > 0 ? ["-g", globals.join(" ")] : [])];
  const check = await run(nginx, ["-t", ...args], { check: false, uid: user.uid, gid: user.gid, cwd: dir });
  if (check.code !== 0) throw new Error(`nginx -t rejected the rendered config ${configFile}:\n${check.stderr}${check.stdout}`);
  const server = spawnServer("nginx", nginx, args, path.join(dir, "nginx.log"), { user, cwd: dir, stopSignal: "SIGQUIT", stopTimeoutMs: 10_000 });
  for (const port of opts.ports) await waitReady(server, `listening on ${port}`, () => portOpen(port), 15_000);
  return { dir, configFile, server, stop: () => server.stop() };
}
