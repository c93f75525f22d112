const HERE = "http://parley.invalid";

/**
 * Where to go after signing in: `next` when it is a path of this site, else the home page. Browsers
 * read `\` as `/` and drop tabs and newlines inside URLs, so `/\evil.example` or `/<tab>/evil.example`
 * would be `//evil.example`, another site: a path with any of them is refused, and what is left must
 * resolve to this origin.
 */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || /[\\\u0000-\u001f\u007f]/.test(next)) return "/";
  return new URL(next, HERE).origin === HERE ? next : "/";
}
