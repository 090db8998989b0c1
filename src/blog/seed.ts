// placeholder, replaced by the seed work
export async function seedDemoIfEmpty(_log: (m: string) => void): Promise<void> {}
export async function ensureAdminAccount(): Promise<{ username: string; password: string } | null> { return null; }
