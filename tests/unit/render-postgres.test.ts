import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as names from "../../src/model/names";
import { PostgresInitApp, renderPostgresInit } from "../../src/render/postgres";

const appsFor = (...apps: string[]): PostgresInitApp[] =>
  apps.map((a) => ({ database: names.database(a), role: names.role(a), passwordVar: names.dbPasswordVar(a), passwordEnv: names.dbPasswordEnv(a) }));
const one = (app: Partial<PostgresInitApp>) => ({ apps: [{ database: "db", role: "r", passwordVar: "pw", passwordEnv: "PW", ...app }] });

/** The script's statements and psql meta-commands in order, comments dropped, multi-line SQL joined. */
function statements(sql: string): string[] {
  const out: string[] = [];
  let pending = "";
  for (const raw of sql.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("--")) continue;
    if (pending === "" && line.startsWith("\\")) {
      out.push(line);
      continue;
    }
    pending = pending ? `${pending} ${line}` : line;
    if (/;$/.test(line) || /\\g(exec|set)$/.test(line)) {
      out.push(pending);
      pending = "";
    }
  }
  assert.equal(pending, "", "every statement is terminated");
  return out;
}

/** Statements run while connected to `db` (following \connect). */
function inDatabase(sql: string, db: string): string[] {
  let current = "";
  const out: string[] = [];
  for (const s of statements(sql)) {
    const m = /^\\connect (\S+)$/.exec(s);
    if (m) current = m[1];
    else if (current === db) out.push(s);
  }
  return out;
}

describe("renderPostgresInit", () => {
  const sql = renderPostgresInit({ apps: appsFor("web", "shop-api") });
  const all = statements(sql);

  it("stops at the first error and names the environment variables it reads", () => {
    assert.equal(all[0], "\\set ON_ERROR_STOP on");
    assert.match(sql, /with DB_PASSWORD_WEB, DB_PASSWORD_SHOP_API in the environment/);
  });

  it("reads every password from the environment inside psql, never from its command line", () => {
    assert.equal(all[1], "\\set pw_web `printf '%s' \"$DB_PASSWORD_WEB\"`");
    assert.ok(all.includes("\\set pw_shop_api `printf '%s' \"$DB_PASSWORD_SHOP_API\"`"));
  });

  it("creates each role only when missing, with the \\gexec idiom (psql variables do not reach DO blocks)", () => {
    const create = all.filter((s) => s.includes("CREATE ROLE"));
    assert.equal(create.length, 2);
    for (const [role, s] of [["web_user", create[0]], ["shop_api_user", create[1]]]) {
      assert.match(s, /^SELECT format\('CREATE ROLE %I LOGIN', '(\w+)'\) WHERE NOT EXISTS \(SELECT 1 FROM pg_catalog\.pg_roles WHERE rolname = '(\w+)'\) \\gexec$/);
      assert.deepEqual([...s.matchAll(/'(\w+_user)'/g)].map((m) => m[1]), [role, role]);
    }
    assert.ok(!/DO \$\$[^$]*:'/.test(sql), "no psql variable inside a DO block");
  });

  it("sets every role's password from its psql variable on every run, so rotation applies", () => {
    const alter = all.filter((s) => /^ALTER ROLE/.test(s));
    assert.deepEqual(alter.map((s) => /PASSWORD :'(\w+)';$/.exec(s)?.[1]), ["pw_web", "pw_shop_api"]);
    assert.ok(alter.every((s) => /\bLOGIN\b/.test(s) && /\bNOSUPERUSER\b/.test(s)));
    assert.ok(all.indexOf(alter[0]) > all.findIndex((s) => s.includes("CREATE ROLE %I LOGIN', 'web_user'")), "the role exists before it is altered");
  });

  it("creates each database owned by its role only when missing, and re-asserts the owner", () => {
    const create = all.filter((s) => s.includes("CREATE DATABASE"));
    assert.deepEqual(create.map((s) => /'CREATE DATABASE %I OWNER %I', '(\w+)', '(\w+)'\)/.exec(s)?.slice(1)), [["web_db", "web_user"], ["shop_api_db", "shop_api_user"]]);
    assert.ok(create.every((s) => /WHERE NOT EXISTS \(SELECT 1 FROM pg_catalog\.pg_database WHERE datname = '\w+'\) \\gexec$/.test(s)));
    assert.ok(all.includes('ALTER DATABASE "web_db" OWNER TO "web_user";'));
  });

  it("lets only the app's own role connect to its database", () => {
    const postgresStmts = inDatabase(sql, "postgres");
    assert.ok(postgresStmts.includes('REVOKE CONNECT, TEMPORARY ON DATABASE "web_db" FROM PUBLIC;'));
    assert.ok(postgresStmts.includes('GRANT CONNECT, TEMPORARY ON DATABASE "web_db" TO "web_user";'));
    assert.ok(postgresStmts.includes('REVOKE CONNECT, TEMPORARY ON DATABASE "shop_api_db" FROM PUBLIC;'));
    assert.ok(!postgresStmts.some((s) => /GRANT .* ON DATABASE "web_db" TO "shop_api_user"/.test(s)));
  });

  it("locks down schema public inside each database and hands it to the app's role", () => {
    assert.deepEqual(inDatabase(sql, "web_db"), ["REVOKE ALL ON SCHEMA public FROM PUBLIC;", 'ALTER SCHEMA public OWNER TO "web_user";']);
    assert.deepEqual(inDatabase(sql, "shop_api_db"), ["REVOKE ALL ON SCHEMA public FROM PUBLIC;", 'ALTER SCHEMA public OWNER TO "shop_api_user";']);
    assert.equal(all[all.length - 1], "\\connect postgres");
  });

  it("fails before changing anything when a password is missing or empty", () => {
    const firstChange = all.findIndex((s) => /^(SELECT format|ALTER|CREATE|GRANT|REVOKE)/.test(s));
    for (const [v, e] of [["pw_web", "DB_PASSWORD_WEB"], ["pw_shop_api", "DB_PASSWORD_SHOP_API"]]) {
      const empty = all.indexOf(`SELECT :'${v}' = '' AS djs_password_empty \\gset`);
      assert.ok(empty >= 0 && empty < firstChange, `${v} is checked first`);
      assert.match(all[empty + 2], new RegExp(`RAISE EXCEPTION 'environment variable ${e} is empty or not set`));
    }
  });

  it("sets the superuser's password on every run only when asked to", () => {
    const su = statements(renderPostgresInit({ apps: appsFor("web"), superuser: names.SUPERUSER }));
    assert.ok(su.includes("\\set pw_superuser `printf '%s' \"$POSTGRES_SUPERUSER_PASSWORD\"`"));
    const alter = su.find((s) => s.startsWith('ALTER ROLE "postgres"'));
    assert.equal(alter, `ALTER ROLE "postgres" WITH PASSWORD :'pw_superuser';`);
    assert.ok(su.indexOf(alter) < su.findIndex((s) => s.includes("CREATE ROLE")), "the superuser is set before the app roles");
    assert.ok(!all.some((s) => s.startsWith('ALTER ROLE "postgres"')), "not set unless asked");
  });

  it("contains no secret: passwords appear only as psql variable references", () => {
    const withPasswords = all.filter((s) => /\bPASSWORD\b/.test(s));
    assert.equal(withPasswords.length, 2);
    assert.ok(withPasswords.every((s) => /PASSWORD :'pw_\w+';$/.test(s)));
    assert.ok(!/PASSWORD\s+'/i.test(sql));
  });

  it("refuses identifiers that are not plain lowercase SQL names, reserved names and duplicates", () => {
    assert.throws(() => renderPostgresInit(one({ database: "x; DROP DATABASE postgres" })), /database/);
    assert.throws(() => renderPostgresInit(one({ role: "Robert'" })), /role/);
    assert.throws(() => renderPostgresInit(one({ passwordVar: "pw x" })), /passwordVar/);
    assert.throws(() => renderPostgresInit(one({ passwordEnv: 'PW"; rm -rf /' })), /passwordEnv/);
    assert.throws(() => renderPostgresInit(one({ database: "postgres" })), /reserved/);
    assert.throws(() => renderPostgresInit(one({ role: "pg_monitor" })), /reserved/);
    assert.throws(() => renderPostgresInit({ apps: [...appsFor("web"), { database: "web_db", role: "other", passwordVar: "pw_other", passwordEnv: "PW_OTHER" }] }), /duplicate database/);
    assert.throws(() => renderPostgresInit({ apps: appsFor("web"), superuser: { role: "postgres", passwordVar: "pw_web", passwordEnv: "SU" } }), /duplicate passwordVar/);
  });
});

describe("renderPostgresInit: roles of removed apps", () => {
  const app = (n: string) => ({ database: `${n}_db`, role: `${n}_user`, passwordVar: `pw_${n}`, passwordEnv: `DB_PASSWORD_${n.toUpperCase()}` });
  it("marks every app role as ours and takes LOGIN from our roles not in config, ending their sessions", () => {
    const sql = renderPostgresInit({ apps: [app("web"), app("shop")] });
    assert.match(sql, /COMMENT ON ROLE "web_user" IS 'djangostack app role';/);
    assert.match(sql, /COMMENT ON ROLE "shop_user" IS 'djangostack app role';/);
    assert.match(sql, /SELECT format\('ALTER ROLE %I NOLOGIN', r\.rolname\) FROM pg_catalog\.pg_roles r WHERE pg_catalog\.shobj_description\(r\.oid, 'pg_authid'\) = 'djangostack app role' AND r\.rolname NOT IN \('web_user', 'shop_user'\) AND r\.rolcanlogin \\gexec/);
    assert.match(sql, /pg_terminate_backend/);
    assert.ok(sql.indexOf("NOLOGIN") > sql.lastIndexOf("WITH LOGIN"), "retirement runs after every current role got its LOGIN back");
  });
  it("with no app left, retires every role it marked (and no empty NOT IN list)", () => {
    const sql = renderPostgresInit({ apps: [] });
    assert.doesNotMatch(sql, /NOT IN \(\)/);
    assert.match(sql, /= 'djangostack app role' AND r\.rolcanlogin \\gexec/);
  });
});
