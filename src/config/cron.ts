/**
 * Cron schedules as Kubernetes reads them (robfig/cron v3's standard parser: five fields or a
 * descriptor), expanded into the sets of minutes, hours, days, months and weekdays that match. The
 * CronJob takes the expression as written; the Docker scheduler takes the expanded sets, so both
 * targets fire at the same minutes and only one parser exists.
 */

export interface CronSchedule {
  /** As written (Kubernetes parses it itself). */
  expression: string;
  minutes: number[];
  hours: number[];
  days: number[];
  months: number[];
  /** 0 is Sunday. */
  weekdays: number[];
  /**
   * A day field written `*` or `?` (robfig's star bit; `*\/2` is not one). When both day fields are
   * restricted a day matches either; when one is a star both must match (so the star one always does).
   */
  anyDay: boolean;
  anyWeekday: boolean;
}

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day of week", min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

/** robfig/cron v3 parseDescriptor; `@every` is left out: Kubernetes' docs offer only these. */
const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

export const CRON_HINT = 'five fields "minute hour day-of-month month day-of-week" in UTC (numbers, *, ranges a-b, steps /n, lists, jan-dec, sun-sat), or @hourly, @daily, @weekly, @monthly, @yearly';

class CronProblem extends Error {}

function value(text: string, field: Field): number {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return field.min + named;
  if (!/^[0-9]{1,2}$/.test(text)) throw new CronProblem(`"${text}" is not a ${field.name}`);
  const n = Number(text);
  if (n < field.min || n > field.max) throw new CronProblem(`${field.name} ${n} is outside ${field.min}-${field.max}${field.name === "day of week" && n === 7 ? " (Sunday is 0)" : ""}`);
  return n;
}

/** One comma-separated part: `*`, `?`, `n`, `a-b`, each optionally `/step`; `n/step` runs to the field's end. */
function part(text: string, field: Field): { values: number[]; star: boolean } {
  const [range, stepText, extra] = text.split("/");
  if (extra !== undefined) throw new CronProblem(`"${text}" has more than one /`);
  const step = stepText === undefined ? 1 : Number(stepText);
  if (stepText !== undefined && (!/^[0-9]{1,2}$/.test(stepText) || step < 1)) throw new CronProblem(`step "${stepText}" in "${text}" must be a whole number of at least 1`);
  let start: number;
  let end: number;
  const star = range === "*" || range === "?";
  if (star) {
    [start, end] = [field.min, field.max];
  } else {
    const bounds = range.split("-");
    if (bounds.length > 2) throw new CronProblem(`"${text}" has more than one -`);
    start = value(bounds[0], field);
    end = bounds.length === 2 ? value(bounds[1], field) : stepText === undefined ? start : field.max;
    if (start > end) throw new CronProblem(`range "${range}" runs backwards`);
  }
  const values: number[] = [];
  for (let v = start; v <= end; v += step) values.push(v);
  return { values, star: star && step === 1 };
}

function field(text: string, f: Field): { values: number[]; star: boolean } {
  const parts = text.split(",").map((p) => {
    if (p === "") throw new CronProblem(`empty item in the ${f.name} field "${text}"`);
    return part(p, f);
  });
  return { values: [...new Set(parts.flatMap((p) => p.values))].sort((a, b) => a - b), star: parts.some((p) => p.star) };
}

/** The schedule, or why it is not one (phrased to follow "got <value>; "). */
export function parseCron(expression: string): CronSchedule | { problem: string } {
  const trimmed = expression.trim();
  if (/^(CRON_)?TZ=/.test(trimmed)) return { problem: "a time zone in the schedule is refused by Kubernetes; schedules run in UTC" };
  const spec = trimmed.startsWith("@") ? DESCRIPTORS[trimmed] : trimmed;
  if (spec === undefined) return { problem: `unknown descriptor; expected ${CRON_HINT}` };
  const texts = spec.split(/\s+/);
  if (texts.length !== 5) return { problem: `${texts.length} fields; expected ${CRON_HINT}` };
  try {
    const [minutes, hours, days, months, weekdays] = texts.map((t, i) => field(t, FIELDS[i]));
    return { expression: trimmed, minutes: minutes.values, hours: hours.values, days: days.values, months: months.values, weekdays: weekdays.values, anyDay: days.star, anyWeekday: weekdays.star };
  } catch (error) {
    if (error instanceof CronProblem) return { problem: `${error.message}; expected ${CRON_HINT}` };
    throw error;
  }
}

