/**
 * The second Django project of the integration tests (tests/integration/chatapp) as a user would
 * configure it, different from the sample app in every point of the app contract: an ASGI server
 * with a WebSocket consumer, twelve-factor env names, its own health path and port, its own uid,
 * static files collected at build under /code/static, no database, Celery on a Redis broker, a
 * release command and a scheduled job.
 */
import * as path from "node:path";
import { AppServer } from "../../src/config/types";

export const CHAT_DIR = path.resolve(__dirname, "chatapp");

export const chatApp = (server: AppServer) => ({
  name: "chat",
  routes: ["/"],
  websocketPaths: ["/ws/"],
  server,
  asgi: "chat.asgi:application",
  settingsModule: "chat.settings",
  celeryApp: "chat",
  envNames: { preset: "twelve-factor", resultBackend: "" },
  healthPath: "/healthz/",
  readyPath: "/healthz/",
  port: 9000,
  user: "1000:1000",
  static: { root: "/code/static", collect: "build" },
  database: false,
  broker: "redis",
  beat: false,
  workers: [{ name: "default", concurrency: 1 }],
  migrate: false,
  release: [["python", "manage.py", "chat_release"]],
  jobs: [{ name: "tick", schedule: "* * * * *", command: ["python", "manage.py", "chat_tick"], timeLimit: 60 }],
});
