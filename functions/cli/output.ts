import { UsageError } from './context.js';

/** A column of a text table or CSV: header and how to render one row's cell. */
export interface Column<R> {
  header: string;
  value: (row: R) => string | number | boolean | null | undefined;
}

function cell(v: string | number | boolean | null | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

/** Renders rows as an aligned text table (for people; scripts use --json). */
export function formatTable<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r)).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** One CSV field, quoted when needed (RFC 4180), with formula-leading characters neutralised for spreadsheets. */
export function csvField(v: string | number | boolean | null | undefined): string {
  let s = cell(v);
  // A customer id like "=HYPERLINK(…)" must not become a formula when an auditor opens the export.
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line. */
export function csvLine(values: Array<string | number | boolean | null | undefined>): string {
  return values.map(csvField).join(',');
}

/** An ISO timestamp, or empty. */
export function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

/** Parses a date or timestamp option (`2026-11-01` or ISO 8601); throws a UsageError naming the option. */
export function parseDateOption(option: string, value: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new UsageError(`${option}: "${value}" is not a date (use YYYY-MM-DD or an ISO 8601 timestamp)`);
  }
  return d;
}

/** Parses a positive integer option; throws a UsageError naming the option. */
export function parsePositiveInt(option: string, value: string, max = 1_000_000): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${option}: "${value}" is not a whole number between 1 and ${max}`);
  }
  return n;
}

/** Commander collector for repeatable options (`--customer a --customer b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
