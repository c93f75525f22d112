"use client";
import { useEffect, useState } from "react";

/** A v4 UUID; crypto.randomUUID only exists in secure contexts, so fall back to getRandomValues. */
export function uuid(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
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

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:05" today, "Mar 3" otherwise, "Mar 3, 2023" in another year. */
export function shortDate(d: Date | string | null | undefined): string {
  if (!d) return "—";
  const date = new Date(d);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return timeFormat.format(date);
  if (date.getFullYear() === now.getFullYear()) return dayFormat.format(date);
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(date);
}
export const fullDate = (d: Date | string) => fullFormat.format(new Date(d));

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

export const sessionTitle = (s: { title: string } | null | undefined) => (s?.title?.trim() ? s.title : "New chat");
