/** The grants managed PostgreSQL needs after DigitalOcean creates an app's database and user (both targets run them with psql). */
/** Grants for the DigitalOcean-created roles: managed PostgreSQL gives a new user no rights on a database. */
export function renderManagedGrants(apps: { database: string; role: string }[]): string {
  const ident = /^[a-z_][a-z0-9_]{0,62}$/;
  const lines = ["-- Grants rendered by djangostack for managed PostgreSQL: idempotent, no secret inside.", "\\set ON_ERROR_STOP on"];
  for (const a of apps) {
    if (!ident.test(a.database) || !ident.test(a.role)) throw new Error(`djangostack: invalid database or role name ${a.database}/${a.role}`);
    lines.push(
      "",
      `-- ${a.database}: only ${a.role} (and the admin) may connect; ${a.role} owns what it creates in public.`,
      "\\connect defaultdb",
      `REVOKE CONNECT, TEMPORARY ON DATABASE "${a.database}" FROM PUBLIC;`,
      `GRANT CONNECT, TEMPORARY ON DATABASE "${a.database}" TO "${a.role}";`,
      `\\connect ${a.database}`,
      "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
      `GRANT USAGE, CREATE ON SCHEMA public TO "${a.role}";`,
    );
  }
  return `${lines.join("\n")}\n`;
}
