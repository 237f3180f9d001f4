/**
 * Postgres init script: one database + login role per app, idempotent, no secret in the text.
 *
 * Run as the superuser: `psql -v ON_ERROR_STOP=1 -f init.sql`, with every password in the
 * environment. The script reads each one into a psql variable with a backquoted `printf` (psql runs
 * it through /bin/sh, so the value never appears on any process's command line, where every local
 * user could read it from /proc). psql does not interpolate variables inside dollar-quoted DO blocks,
 * so conditional DDL uses the `SELECT format(...) WHERE NOT EXISTS (...) \gexec` idiom, and passwords
 * go through `:'var'`, which psql sends as a correctly quoted literal.
 */

export interface PostgresInitApp {
  database: string;
  role: string;
  /** psql variable holding the role's password (names.dbPasswordVar). */
  passwordVar: string;
  /** Environment variable the password is read from (names.dbPasswordEnv). */
  passwordEnv: string;
}

export interface PostgresInitInput {
  apps: PostgresInitApp[];
  /**
   * Sets the superuser's password on every run, so rotating it works on a database that already has
   * data (the image applies POSTGRES_PASSWORD only to an empty data directory). Only safe where the
   * init does not log in with that password itself (the Docker init uses the trusted local socket).
   */
  superuser?: { role: string; passwordVar: string; passwordEnv: string };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV = /^[A-Z_][A-Z0-9_]*$/;

/** A SQL string literal for a validated identifier (no quotes inside). */
const lit = (s: string): string => `'${s}'`;
/** A quoted SQL identifier for a validated identifier. */
const ident = (s: string): string => `"${s}"`;

function checkApp(app: PostgresInitApp): void {
  for (const [what, value] of [["database", app.database], ["role", app.role]] as const) {
    if (!IDENTIFIER.test(value)) throw new Error(`renderPostgresInit: ${what} ${JSON.stringify(value)} is not a lowercase SQL identifier`);
  }
  checkSecretSource(app);
  if (app.role === "postgres" || app.role.startsWith("pg_")) throw new Error(`renderPostgresInit: role ${app.role} is reserved`);
  if (["postgres", "template0", "template1"].includes(app.database)) throw new Error(`renderPostgresInit: database ${app.database} is reserved`);
}

function checkSecretSource(s: { passwordVar: string; passwordEnv: string }): void {
  if (!VARIABLE.test(s.passwordVar)) throw new Error(`renderPostgresInit: passwordVar ${JSON.stringify(s.passwordVar)} is not a psql variable name`);
  if (!ENV.test(s.passwordEnv)) throw new Error(`renderPostgresInit: passwordEnv ${JSON.stringify(s.passwordEnv)} is not an environment variable name`);
}

/** Reads the password from the environment and stops, before any change, when it is missing or empty. */
function passwordFromEnv(s: { passwordVar: string; passwordEnv: string }): string {
  const { passwordVar: v, passwordEnv: e } = s;
  return `\\set ${v} \`printf '%s' "$${e}"\`
SELECT :'${v}' = '' AS djs_password_empty \\gset
\\if :djs_password_empty
DO $$ BEGIN RAISE EXCEPTION 'environment variable ${e} is empty or not set'; END $$;
\\endif
`;
}

function appSection(app: PostgresInitApp): string {
  const { database: db, role, passwordVar: v } = app;
  return `-- ---- ${db} owned by ${role} ----
\\connect postgres
SELECT format('CREATE ROLE %I LOGIN', ${lit(role)})
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${lit(role)}) \\gexec
-- Every run sets the password (a rotated secret takes effect on the next deploy) and LOGIN (an app
-- added back gets its role back); the comment marks the role as ours for retireSection.
ALTER ROLE ${ident(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'${v}';
COMMENT ON ROLE ${ident(role)} IS ${lit(APP_ROLE_MARK)};

SELECT format('CREATE DATABASE %I OWNER %I', ${lit(db)}, ${lit(role)})
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = ${lit(db)}) \\gexec
ALTER DATABASE ${ident(db)} OWNER TO ${ident(role)};
-- Only the app's own role may connect to its database.
REVOKE CONNECT, TEMPORARY ON DATABASE ${ident(db)} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE ${ident(db)} TO ${ident(role)};

\\connect ${db}
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO ${ident(role)};
`;
}

/** Marks the login roles this init manages, so the roles of removed apps can be found. */
export const APP_ROLE_MARK = "djangostack app role";

/**
 * An app removed from config keeps its database and role (no data is dropped), but its role can no
 * longer log in and its open sessions end. Only roles carrying our mark are touched.
 */
function retireSection(apps: PostgresInitApp[]): string {
  const ours = `pg_catalog.shobj_description(r.oid, 'pg_authid') = ${lit(APP_ROLE_MARK)}`;
  const retired = apps.length > 0 ? `${ours} AND r.rolname NOT IN (${apps.map((a) => lit(a.role)).join(", ")})` : ours;
  return `-- ---- roles of apps no longer in config: kept with their data, but no login ----
\\connect postgres
SELECT format('ALTER ROLE %I NOLOGIN', r.rolname) FROM pg_catalog.pg_roles r WHERE ${retired} AND r.rolcanlogin \\gexec
SELECT count(pg_catalog.pg_terminate_backend(a.pid)) AS djs_sessions_ended FROM pg_catalog.pg_stat_activity a
JOIN pg_catalog.pg_roles r ON r.rolname = a.usename WHERE ${retired} \\gset
`;
}

function superuserSection(su: NonNullable<PostgresInitInput["superuser"]>): string {
  return `-- ---- superuser ----
\\connect postgres
-- Every run sets it, so a rotated superuser password takes effect on a populated data directory.
ALTER ROLE ${ident(su.role)} WITH PASSWORD :'${su.passwordVar}';
`;
}

export function renderPostgresInit(input: PostgresInitInput): string {
  const { apps, superuser } = input;
  apps.forEach(checkApp);
  if (superuser) {
    checkSecretSource(superuser);
    if (!IDENTIFIER.test(superuser.role)) throw new Error(`renderPostgresInit: superuser ${JSON.stringify(superuser.role)} is not a lowercase SQL identifier`);
  }
  const sources = [...(superuser ? [superuser] : []), ...apps];
  const unique = (key: string, values: string[]) => {
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup !== undefined) throw new Error(`renderPostgresInit: duplicate ${key} ${dup}`);
  };
  unique("database", apps.map((a) => a.database));
  unique("role", apps.map((a) => a.role));
  unique("passwordVar", sources.map((s) => s.passwordVar));
  unique("passwordEnv", sources.map((s) => s.passwordEnv));
  const header = `-- Postgres init rendered by djangostack: do not edit. Idempotent: it runs on every deploy.
-- psql -v ON_ERROR_STOP=1 -f init.sql, with ${sources.map((s) => s.passwordEnv).join(", ")} in the environment.
-- No secret is written here, and none is passed on a command line.
\\set ON_ERROR_STOP on

-- Fail with a clear message, before changing anything, when a password is missing or empty.
`;
  return [header + sources.map(passwordFromEnv).join(""), ...(superuser ? [superuserSection(superuser)] : []), ...apps.map(appSection), retireSection(apps), "\\connect postgres\n"].join("\n");
}
