import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { MANAGED_ENV, hasUrlPassword, isCredentialName } from "../../src/config/env-rules";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { BadInput, accepts, id, problems, refuses } from "./config-helpers";

const env = (vars: Record<string, unknown>, extra: Raw = {}): Raw => ({ ...extra, apps: [{ name: "web", env: vars }] });
const k = (name: string) => `djangostack:apps[0].env.${name}`;

describe("app env: managed names, credentials, control characters; secretEnv collisions", () => {
  const cases: BadInput[] = [
    // settings djangostack manages
    ["secure cookies switched off", env({ DJANGO_SECURE_COOKIES: "false" }), k("DJANGO_SECURE_COOKIES"), "edge.tls.mode"],
    ["Django's own SSL redirect", env({ DJANGO_SECURE_SSL_REDIRECT: "true" }), k("DJANGO_SECURE_SSL_REDIRECT"), "nginx redirects to HTTPS"],
    ["a static URL nginx does not serve", env({ DJANGO_STATIC_URL: "/assets/" }), k("DJANGO_STATIC_URL"), "/static/<app>/"],
    ["a media URL", env({ DJANGO_MEDIA_URL: "/uploads/" }), k("DJANGO_MEDIA_URL"), "/media/<app>/"],
    ["ALLOWED_HOSTS by hand", env({ DJANGO_ALLOWED_HOSTS: "*" }), k("DJANGO_ALLOWED_HOSTS"), "djangostack:domain and apps[].hosts"],
    ["CSRF origins by hand", env({ CSRF_TRUSTED_ORIGINS: "https://example.com" }), k("CSRF_TRUSTED_ORIGINS"), "djangostack:domain"],
    ["settings module in env", env({ DJANGO_SETTINGS_MODULE: "config.settings.prod" }), k("DJANGO_SETTINGS_MODULE"), "apps[].settingsModule"],
    ["HSTS seconds", env({ DJANGO_SECURE_HSTS_SECONDS: "0" }), k("DJANGO_SECURE_HSTS_SECONDS"), "edge.hstsSeconds"],
    ["a static root", env({ DJANGO_STATIC_ROOT: "/tmp/static" }), k("DJANGO_STATIC_ROOT"), "release step"],
    ["a database URL", env({ DATABASE_URL: "sqlite:///db.sqlite3" }), k("DATABASE_URL"), "set by djangostack"],
    ["a broker URL", env({ CELERY_BROKER_URL: "redis://redis:6379/0" }), k("CELERY_BROKER_URL"), "apps[].broker"],
    ["the probes' heartbeat file", env({ CELERY_WORKER_HEARTBEAT_FILE: "/tmp/hb" }), k("CELERY_WORKER_HEARTBEAT_FILE"), "liveness probe"],
    ["Django's secret key in plain env", env({ DJANGO_SECRET_KEY: "x".repeat(50) }), k("DJANGO_SECRET_KEY"), "djangostack:secretKey"],
    // credentials in plain env
    ["an API token", env({ GITHUB_TOKEN: "ghp_example" }), k("GITHUB_TOKEN"), "secretEnv.web.GITHUB_TOKEN"],
    ["a password", env({ EMAIL_HOST_PASSWORD: "hunter2" }), k("EMAIL_HOST_PASSWORD"), "pulumi config set --secret"],
    ["a client secret", env({ OAUTH_CLIENT_SECRET: "abc" }), k("OAUTH_CLIENT_SECRET"), "looks like a credential"],
    ["a secret with a prefix", env({ STRIPE_SECRET_KEY: "sk_live_x" }), k("STRIPE_SECRET_KEY"), "secretEnv"],
    ["an API key", env({ SENDGRID_API_KEY: "SG.x" }), k("SENDGRID_API_KEY"), "secretEnv"],
    ["a *_KEY", env({ AWS_SECRET_ACCESS_KEY: "x" }), k("AWS_SECRET_ACCESS_KEY"), "secretEnv"],
    ["a private key", env({ JWT_PRIVATE_KEY: "-----BEGIN" }), k("JWT_PRIVATE_KEY"), "secretEnv"],
    ["a PASSWD spelling", env({ SMTP_PASSWD: "x" }), k("SMTP_PASSWD"), "secretEnv"],
    ["a _PASS suffix", env({ REDIS_PASS: "x" }), k("REDIS_PASS"), "secretEnv"],
    ["a Sentry DSN (embeds its key)", env({ SENTRY_DSN: "https://abc@o1.ingest.sentry.io/1" }), k("SENTRY_DSN"), "secretEnv"],
    ["an access token in the middle", env({ SLACK_TOKEN_BOT: "xoxb" }), k("SLACK_TOKEN_BOT"), "secretEnv"],
    ["credentials file content", env({ GOOGLE_CREDENTIALS: "{}" }), k("GOOGLE_CREDENTIALS"), "secretEnv"],
    ["a URL with a password under an innocent name", env({ CLICKHOUSE_URL: "http://reader:s3cret@clickhouse:8123/db" }), k("CLICKHOUSE_URL"), "looks like a credential"],
    ["an AMQP URL with a password", env({ EVENTS_BROKER: "amqp://user:pw@mq:5672/%2f" }), k("EVENTS_BROKER"), "secretEnv"],
    ["a token on kubernetes (would be a ConfigMap)", env({ API_TOKEN: "x" }, { target: "kubernetes", domain: "example.com" }), k("API_TOKEN"), "a ConfigMap on kubernetes"],
    // control characters
    ["a NUL byte", env({ GREETING: "hi\u0000there" }), k("GREETING"), "U+0000 (NUL)"],
    ["a newline", env({ BANNER: "line1\nline2" }), k("BANNER"), "U+000A (newline)"],
    ["a carriage return", env({ MOTD: "x\r" }), k("MOTD"), "printable text and tabs only"],
    ["an escape sequence", env({ PROMPT: "\u001b[31mred" }), k("PROMPT"), "U+001B"],
    ["DEL", env({ X: "a\u007f" }), k("X"), "U+007F"],
    ["a C1 control", env({ Y: "a\u0085b" }), k("Y"), "U+0085"],
    ["a bell", env({ Z: "\u0007" }), k("Z"), "control character"],
    // secretEnv
    ["the same name in env and secretEnv", { apps: [{ name: "web", env: { CLICKHOUSE_USER: "reader" } }], secretEnv: { web: { CLICKHOUSE_USER: "x" } } }, "djangostack:secretEnv.web.CLICKHOUSE_USER", "already set by djangostack or by the app's env"],
    ["a managed name in secretEnv", { secretEnv: { web: { DJANGO_STATIC_URL: "/x/" } } }, "djangostack:secretEnv.web.DJANGO_STATIC_URL", "already set by djangostack"],
    ["a NUL in a secret", { secretEnv: { web: { API_TOKEN: "abc\u0000def" } } }, "djangostack:secretEnv.web.API_TOKEN", "U+0000 (NUL)"],
    ["an escape in a secret", { secretEnv: { web: { API_TOKEN: "abc\u001bdef" } } }, "djangostack:secretEnv.web.API_TOKEN", "tabs and newlines only"],
  ];
  refuses(cases);

  accepts([
    ["ordinary settings", env({ EMAIL_HOST: "smtp.example.com", EMAIL_PORT: 587, FEATURE_X: true })],
    ["a tab in a value", env({ SEPARATOR: "a\tb" })],
    ["a URL without a password", env({ CLICKHOUSE_URL: "http://clickhouse:8123/db", UPSTREAM: "https://user@example.com/" })],
    ["a user name (not a credential)", env({ CLICKHOUSE_USER: "reader", KEYCLOAK_REALM: "main", CACHE_KEY_PREFIX: "web" })],
    ["a PEM key in secretEnv (newlines allowed)", { secretEnv: { web: { JWT_PRIVATE_KEY: "-----BEGIN KEY-----\nabc\n-----END KEY-----\n" } } }],
  ]);

  it("never prints the value of a credential-looking plain env entry", () => {
    const found = problems(env({ EMAIL_HOST_PASSWORD: "hunter2-hunter2", NOTES_URL: "https://bob:pa55word@notes.example.com/" }));
    assert.equal(found.length, 2, found.join("\n"));
    assert.ok(found.every((p) => !p.includes("hunter2") && !p.includes("pa55word")), found.join("\n"));
  });

  it("never prints a secret's value for a control character", () => {
    const found = problems({ secretEnv: { web: { API_TOKEN: "top-secret\u0000" } } });
    assert.ok(found.every((p) => !p.includes("top-secret")), found.join("\n"));
  });

  it("MANAGED_ENV lists every plain and secret env name the model sets for an app", () => {
    for (const target of ["docker", "kubernetes"] as const) {
      const config = parseConfig({ target, domain: "example.com" }, id);
      const model = buildModel(config);
      const web = model.processes.find((p) => p.role === "web");
      assert.ok(web, "no web process");
      for (const name of [...Object.keys(web.env), ...Object.keys(web.secretEnv)]) assert.ok(name in MANAGED_ENV, `${name} is set by the model but not in MANAGED_ENV`);
    }
  });

  it("the credential rule matches the issue's shapes", () => {
    for (const n of ["X_SECRET", "X_SECRET_Y", "DB_PASSWORD", "PASSWORD", "X_KEY", "TOKEN", "X_TOKEN_Y"]) assert.ok(isCredentialName(n), n);
    for (const n of ["EMAIL_HOST", "KEYCLOAK_URL", "CACHE_KEY_PREFIX", "PUBLIC_PATH", "DJANGO_LOG_FORMAT"]) assert.ok(!isCredentialName(n), n);
    assert.ok(hasUrlPassword("postgres://u:p@h/db") && !hasUrlPassword("https://h/a:b@c") && !hasUrlPassword("https://user@h/"));
  });
});
