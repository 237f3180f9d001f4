/**
 * Postgres init script: one database + login role per app, idempotent, no secret in the text.
 *
 * Run as the superuser with every role password passed as a psql variable:
 *   psql -v ON_ERROR_STOP=1 -v pw_web="$DB_PASSWORD_WEB" -f init.sql
 * psql does not interpolate variables inside dollar-quoted DO blocks, so conditional DDL uses the
 * `SELECT format(...) WHERE NOT EXISTS (...) \gexec` idiom, and passwords go through `:'var'`, which
 * psql sends as a correctly quoted literal.
 */

export interface PostgresInitApp {
  database: string;
  role: string;
  /** psql variable holding the role's password (names.dbPasswordVar). */
  passwordVar: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A SQL string literal for a validated identifier (no quotes inside). */
const lit = (s: string): string => `'${s}'`;
/** A quoted SQL identifier for a validated identifier. */
const ident = (s: string): string => `"${s}"`;

function checkApp(app: PostgresInitApp): void {
  for (const [what, value] of [["database", app.database], ["role", app.role]] as const) {
    if (!IDENTIFIER.test(value)) throw new Error(`renderPostgresInit: ${what} ${JSON.stringify(value)} is not a lowercase SQL identifier`);
  }
  if (!VARIABLE.test(app.passwordVar)) throw new Error(`renderPostgresInit: passwordVar ${JSON.stringify(app.passwordVar)} is not a psql variable name`);
  if (app.role === "postgres" || app.role.startsWith("pg_")) throw new Error(`renderPostgresInit: role ${app.role} is reserved`);
  if (["postgres", "template0", "template1"].includes(app.database)) throw new Error(`renderPostgresInit: database ${app.database} is reserved`);
}

function passwordCheck(v: string): string {
  return `\\if :{?${v}}
\\else
DO $$ BEGIN RAISE EXCEPTION 'psql variable ${v} is not set (pass -v ${v}=...)'; END $$;
\\endif
SELECT :'${v}' = '' AS djs_password_empty \\gset
\\if :djs_password_empty
DO $$ BEGIN RAISE EXCEPTION 'psql variable ${v} is empty'; END $$;
\\endif
`;
}

function appSection(app: PostgresInitApp): string {
  const { database: db, role, passwordVar: v } = app;
  return `-- ---- ${db} owned by ${role} ----
\\connect postgres
SELECT format('CREATE ROLE %I LOGIN', ${lit(role)})
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${lit(role)}) \\gexec
-- Every run sets the password, so a rotated secret takes effect on the next deploy.
ALTER ROLE ${ident(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'${v}';

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

export function renderPostgresInit(apps: PostgresInitApp[]): string {
  apps.forEach(checkApp);
  for (const key of ["database", "role", "passwordVar"] as const) {
    const seen = new Set<string>();
    for (const app of apps) {
      if (seen.has(app[key])) throw new Error(`renderPostgresInit: duplicate ${key} ${app[key]}`);
      seen.add(app[key]);
    }
  }
  const header = `-- Postgres init rendered by djangostack: do not edit. Idempotent: it runs on every deploy.
-- psql -v ON_ERROR_STOP=1 ${apps.map((a) => `-v ${a.passwordVar}=...`).join(" ")} -f init.sql
-- No secret is written here: each role's password arrives as a psql variable.
\\set ON_ERROR_STOP on

-- Fail with a clear message, before changing anything, when a password variable is missing or empty.
`;
  return [header + apps.map((a) => passwordCheck(a.passwordVar)).join(""), ...apps.map(appSection), "\\connect postgres\n"].join("\n");
}
