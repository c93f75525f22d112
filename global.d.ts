import type { Locale } from "./i18n/locales";
import type messages from "./messages/en.json";

/** Message keys checked by the compiler against the English messages. */
declare module "next-intl" {
  interface AppConfig {
    Locale: Locale;
    Messages: typeof messages;
  }
}
