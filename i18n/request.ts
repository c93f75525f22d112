import { cookies, headers } from "next/headers";
import { getRequestConfig } from "next-intl/server";
import { LOCALE_COOKIE, pickLocale } from "./locales";

/**
 * next-intl without i18n routing: URLs carry no locale; each request's comes from the user's
 * remembered choice (cookie) or the browser's Accept-Language.
 */
export default getRequestConfig(async () => {
  const locale = pickLocale((await cookies()).get(LOCALE_COOKIE)?.value, (await headers()).get("accept-language"));
  return { locale, messages: ((await import(`../messages/${locale}.json`)) as { default: Record<string, unknown> }).default };
});
