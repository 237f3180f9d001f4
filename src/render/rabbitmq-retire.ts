/**
 * Broker users of removed apps. A module of its own: the model builds the RabbitMQ command with it,
 * and the definitions renderer (which imports the model's paths) tags the users it manages.
 */

const USER_NAME = /^[A-Za-z0-9_/.-]{1,255}$/;

/** Marks the broker users the definitions manage, so the users of removed apps can be found. */
export const APP_USER_TAG = "djangostack-app";

/**
 * Runs once the node is up: deletes every user tagged as ours that is not in `keep` (the apps in
 * config), and clears a kept user's permission on any vhost not in `grants` (a brokerAccess taken
 * back). Definitions only ever add and update, so without this a removed app's broker user would
 * keep logging in and a revoked grant would keep working. Vhosts, queues and messages stay.
 */
export function renderRabbitmqRetireScript(keep: string[], grants: { user: string; vhost: string }[]): string {
  for (const name of [...keep, ...grants.flatMap((g) => [g.user, g.vhost])]) if (!USER_NAME.test(name)) throw new Error(`renderRabbitmqRetireScript: invalid user or vhost name ${JSON.stringify(name)}`);
  const pairs = grants.map((g) => `${g.user}@${g.vhost}`).join(" ");
  return [
    "i=0",
    "until rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1; do i=$((i + 1)); [ $i -ge 90 ] && exit 0; sleep 2; done",
    "rabbitmqctl -s list_users | while IFS='	' read -r user tags; do",
    `  case "$tags" in *${APP_USER_TAG}*) ;; *) continue ;; esac`,
    `  case ' ${keep.join(" ")} ' in *" $user "*) continue ;; esac`,
    '  rabbitmqctl -q delete_user "$user" && echo "djangostack: deleted broker user $user: its app is no longer in config (its vhost and messages stay)"',
    "done",
    ...keep.flatMap((user) => [
      `rabbitmqctl -s list_user_permissions '${user}' | while IFS='	' read -r vhost rest; do`,
      `  case ' ${pairs} ' in *" ${user}@$vhost "*) continue ;; esac`,
      `  rabbitmqctl -q clear_permissions -p "$vhost" '${user}' && echo "djangostack: cleared ${user}'s permission on $vhost: no longer granted in config"`,
      "done",
    ]),
    `echo "djangostack: broker users checked against the apps in config (${keep.length})"`,
  ].join("\n");
}

