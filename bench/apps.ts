/** N Django apps, each with its own route, a Celery worker and (the first) beat: the growth cases. */
export function appsConfig(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({ name: `svc${i + 1}`, routes: [`/svc${i + 1}/`], workers: [{ queues: [`q${i + 1}`] }], beat: i === 0 }));
}

/** The same apps as a stack file for a whole-process render (`--file`). */
export function appsStackFile(count: number): string {
  return `config:\n  djangostack:target: docker\n  djangostack:apps: ${JSON.stringify(appsConfig(count))}\n`;
}
