/**
 * A whole-number command-line flag within [min, max]; `fallback` when absent (required when there is none).
 * `separators: true` also accepts digit groups like 100_000.
 */
export function intArg(name: string, raw: string | undefined, min: number, max: number, fallback?: number, opts: { separators?: boolean } = {}): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  const v = opts.separators ? raw.replace(/_/g, "") : raw;
  if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a whole number, got "${raw}"`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name} must be between ${min} and ${max}, got ${raw}`);
  return n;
}
