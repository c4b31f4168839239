import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One remembered session. */
interface StoredToken {
  token: string;
  saved_at: string;
}

/**
 * Session tokens `step login` keeps for later commands, one per server and user, in
 * `<state dir>/step/tokens.json`. The directory is 0700 and the file 0600: a token is as good as
 * the password until it expires or is revoked.
 */
export class TokenStore {
  private constructor(readonly file: string) {}

  /** The store under a state directory (`$XDG_STATE_HOME`, default `~/.local/state`). */
  static in(stateDir: string): TokenStore {
    return new TokenStore(join(stateDir, 'step', 'tokens.json'));
  }

  /** The token kept for this server and user, or null. */
  async get(server: string, user: string): Promise<string | null> {
    return (await this.read())[entryName(server, user)]?.token ?? null;
  }

  /** Keeps a token (replacing an older one for the same server and user). */
  async set(server: string, user: string, token: string): Promise<void> {
    const entries = await this.read();
    entries[entryName(server, user)] = { token, saved_at: new Date().toISOString() };
    await this.write(entries);
  }

  /** Forgets the token for this server and user; false when there was none. */
  async remove(server: string, user: string): Promise<boolean> {
    const entries = await this.read();
    if (!(entryName(server, user) in entries)) return false;
    delete entries[entryName(server, user)];
    await this.write(entries);
    return true;
  }

  private async read(): Promise<Record<string, StoredToken>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return {};
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, StoredToken>) : {};
    } catch {
      // A damaged store only costs a new login.
      return {};
    }
  }

  private async write(entries: Record<string, StoredToken>): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await chmod(dirname(this.file), 0o700);
    // Written beside and renamed: a crash never leaves half a file; created 0600 so no moment readable by others.
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.file);
  }
}

function entryName(server: string, user: string): string {
  return `${user}@${server}`;
}
