/**
 * The host names a stack answers for, checked together: the domain, each app's hosts, the frontend's
 * hosts and the hosts that redirect to the domain. Each name belongs to exactly one of them (nginx
 * would otherwise pick one server block silently), and the frontend's and the redirects' need the
 * domain (the main site they sit beside or point at).
 */
import { Checker } from "./checker";
import { StackConfig } from "./types";

interface HostUse {
  key: string;
  host: string;
}

export function checkHosts(c: Checker, config: StackConfig): void {
  const frontend = (config.frontend?.hosts ?? []).map((host, j) => ({ key: `frontend.hosts[${j}]`, host }));
  const redirects = config.edge.redirectHosts.map((host, j) => ({ key: `edge.redirectHosts[${j}]`, host }));
  if (!config.domain) {
    if (frontend.length > 0) c.fail("frontend.hosts", config.frontend?.hosts, "needs djangostack:domain: the frontend's hosts sit beside the main site, and their certificates and DNS records come with it");
    if (redirects.length > 0) c.fail("edge.redirectHosts", config.edge.redirectHosts, "needs djangostack:domain: it is the host these names redirect to");
  }
  const apps: HostUse[] = config.apps.flatMap((app, i) => app.hosts.map((host, j) => ({ key: `apps[${i}].hosts[${j}]`, host })));
  const asDomain: [HostUse[], string][] = [
    [apps, "equals djangostack:domain; the domain is the main site (served by routes), and listing it as an app host would leave that server block without names, dropping the default servers that close unknown hosts; list only other host names"],
    [frontend, 'equals djangostack:domain, the main site; to serve the frontend there give it frontend.route "/" instead'],
    [redirects, "equals djangostack:domain: it would redirect to itself; list the other name (www.example.com, or the apex when the domain is the www name)"],
  ];
  for (const [uses, why] of asDomain) for (const use of uses) if (use.host === config.domain) c.fail(use.key, use.host, why);
  // Apps' hosts among themselves are checked with the apps ("each host belongs to exactly one app").
  const seen = new Map<string, string>(apps.map((u) => [u.host, u.key]));
  for (const use of [...frontend, ...redirects]) {
    const first = seen.get(use.host);
    if (first) c.fail(use.key, use.host, `already listed as ${first}; each host name is served by one app, the frontend or a redirect`);
    else seen.set(use.host, use.key);
  }
}
