// Waiting for a condition instead of for time to pass: polls `check` (sync, or async such as a query)
// every 20 ms until it holds or `ms` have gone by, and returns whether it holds (assert on it:
// `expect(await until(...)).toBe(true)`).
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return check();
}
