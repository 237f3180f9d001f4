/** Pure renderers: model and config types in, file text out. No Pulumi, no I/O. */
export { renderNginx, nginxInputFor, renderUpstreamBlock } from "./nginx";
export type { NginxInput, NginxPaths, UpstreamOptions } from "./nginx";
export { renderCutoverScript, CUTOVER_MOUNT } from "./cutover";
export type { CutoverInput } from "./cutover";
export { renderGunicornConf } from "./gunicorn";
export { renderPostgresInit } from "./postgres";
export type { PostgresInitApp } from "./postgres";
export { renderPostgresGuard, RETIRED_MARKER } from "./postgres-guard";
export type { PostgresGuardInput } from "./postgres-guard";
export { renderRabbitmqConf, renderRabbitmqDefinitions, rabbitPasswordHash, DEFAULT_DEFINITIONS_PATH } from "./rabbitmq";
export type { RabbitmqConfOptions, RabbitmqDefinitionsInput } from "./rabbitmq";
export { renderRedisConf, renderRedisStartCommand } from "./redis";
export type { RedisRenderOptions } from "./redis";
export { renderLivenessWatchdog, LIVENESS_STATE_FILE } from "./watchdog";
export type { HealthcheckTestArray, LivenessWatchdogOptions } from "./watchdog";
export { BACKUP_SCRIPT, BACKUP_ENV, BACKUP_INTEGRITY_EXIT, DEFAULT_BACKUP_RETENTION_DAYS, backupCommand, backupPrefixes, backupSettings, renderBackupSettings } from "./backup";
export type { BackupDatabase, BackupMedia, BackupSettings, BackupSettingsInput, BucketAddressing } from "./backup";
