"use client";
import { useLocale, useTranslations } from "next-intl";
import { useCallback, useEffect, useMemo, useState } from "react";

/** A v4 UUID; crypto.randomUUID only exists in secure contexts, so fall back to getRandomValues. */
export function uuid(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40; // b has 16 bytes
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function useDebounced<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(t);
  }, [value, delayMs]);
  return debounced;
}

/**
 * Dates in the page's language and the browser's time zone: "14:05" today, "Mar 3" / "3月3日"
 * otherwise, with the year in another year; `fullDate` with the time.
 */
export function dateFormats(locale: string) {
  const time = new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit" });
  const day = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });
  const dayOfYear = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
  const full = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  return {
    shortDate: (d: Date | string | null | undefined): string => {
      if (!d) return "—";
      const date = new Date(d);
      const now = new Date();
      if (date.toDateString() === now.toDateString()) return time.format(date);
      return (date.getFullYear() === now.getFullYear() ? day : dayOfYear).format(date);
    },
    fullDate: (d: Date | string) => full.format(new Date(d)),
  };
}
export const useDates = () => {
  const locale = useLocale();
  return useMemo(() => dateFormats(locale), [locale]);
};

/** Saves text as a real file download: a Blob, an object URL and a temporary <a download>. */
export function downloadText(filename: string, content: string, type: string) {
  const blob = new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.rel = "noopener";
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const isMac = () => typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** Plain-text drafts that survive a reload, one per chat (or one for a new chat). */
export const drafts = {
  key: (sessionId: string | null) => `parley:draft:${sessionId ?? "new"}`,
  get(sessionId: string | null): string {
    try {
      return localStorage.getItem(this.key(sessionId)) ?? "";
    } catch {
      return "";
    }
  },
  set(sessionId: string | null, text: string) {
    try {
      if (text) localStorage.setItem(this.key(sessionId), text);
      else localStorage.removeItem(this.key(sessionId));
    } catch {
      /* storage full or disabled: the draft just isn't kept */
    }
  },
};

/** A session's title, or "New chat" in the page's language while it has none. */
export function useSessionTitle() {
  const t = useTranslations("chat");
  return useCallback((s: { title: string } | null | undefined) => (s?.title?.trim() ? s.title : t("newChat")), [t]);
}
