/**
 * Delete tokens of the shares made in this browser, kept in its local
 * storage (the server returns a share's token once, at creation, and keeps
 * only its hash), so the page can offer "Delete this share" to whoever made
 * it.
 *
 * @module
 */

const KEY = "stylegram.deleteTokens";
/** Most tokens kept; the oldest go first. */
const MAX_TOKENS = 200;

function read(): Record<string, string> {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {}; // storage off or unreadable: no tokens
  }
}

function write(tokens: Record<string, string>): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(tokens));
  } catch { /* storage off: the share just cannot be deleted from here */ }
}

/** Remembers the delete token of a share made here. */
export function rememberDeleteToken(id: string, token: string): void {
  const entries = Object.entries(read()).filter(([k]) => k !== id);
  entries.push([id, token]);
  write(Object.fromEntries(entries.slice(-MAX_TOKENS)));
}

/** The delete token of a share made here, if any. */
export function deleteTokenFor(id: string): string | undefined {
  const token = read()[id];
  return typeof token === "string" ? token : undefined;
}

/** Forgets a share's token (it was deleted). */
export function forgetDeleteToken(id: string): void {
  const tokens = read();
  delete tokens[id];
  write(tokens);
}

/** The share id of a share link. */
export function shareIdOf(url: string): string | undefined {
  return /\/s\/([A-Za-z0-9_-]{22})$/.exec(new URL(url).pathname)?.[1];
}
