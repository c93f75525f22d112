/** The languages of the browser app, and how one is chosen for a request. */
export const LOCALES = ["en", "zh"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";
/** The cookie that remembers the user's choice (next-intl's name for it), read by server rendering. */
export const LOCALE_COOKIE = "NEXT_LOCALE";
/** What the language switch offers, each in its own language. */
export const LOCALE_NAMES: Record<Locale, string> = { en: "English", zh: "简体中文" };

export const isLocale = (value: string | undefined | null): value is Locale => LOCALES.includes(value as Locale);

/**
 * The locale for a request: the remembered choice if valid, else the first language of the
 * browser's Accept-Language (by q-value) that the app speaks (`zh`, `zh-CN`, `zh-Hans`… → zh), else English.
 */
export function pickLocale(cookie: string | undefined, acceptLanguage: string | null | undefined): Locale {
  if (isLocale(cookie)) return cookie;
  const ranked = (acceptLanguage ?? "")
    .split(",")
    .map((part, i) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { language: tag.trim().toLowerCase().split("-")[0], q: q === undefined ? 1 : Number(q), i };
    })
    .filter((l) => l.language && l.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked.map((l) => l.language).find(isLocale) ?? DEFAULT_LOCALE;
}
