"use client";
import { useMutation } from "@tanstack/react-query";
import { useTranslations } from "next-intl";
import { errorMessage } from "./errors";
import { TemporaryIcon } from "./icons";
import { useSessionCache } from "./sessionCache";
import { useTRPC, type Session } from "./trpc";
import { useDates } from "./util";

/** On a new chat, before its first message: whether it starts as a temporary chat. */
export function TemporaryToggle({ on, onChange }: { on: boolean; onChange: (on: boolean) => void }) {
  const t = useTranslations("temporary");
  return (
    <button
      type="button"
      className={`btn btn-ghost btn-sm temporary-toggle ${on ? "is-on" : ""}`}
      aria-pressed={on}
      aria-label={t("toggleLabel")}
      title={t("toggleTitle")}
      onClick={() => onChange(!on)}
    >
      <TemporaryIcon size={16} />
      <span>{t("toggle")}</span>
    </button>
  );
}

/**
 * Says plainly that a temporary chat is in no list and is deleted after inactivity (when, if it is
 * a session already), and keeps it as an ordinary chat on request.
 */
export function TemporaryBanner({ session, onError }: { session: Session | null; onError: (message: string) => void }) {
  const t = useTranslations("temporary");
  const { fullDate } = useDates();
  const trpc = useTRPC();
  const cache = useSessionCache();
  const keep = useMutation(
    trpc.session.update.mutationOptions({
      // Now an ordinary chat: into the lists it belongs in.
      onSuccess: (kept) => cache.upsertTop(kept),
      onError: (e) => onError(errorMessage(e)),
    }),
  );
  return (
    <div className="temporary-banner" role="status">
      <TemporaryIcon size={18} />
      <p>
        <strong>{t("bannerTitle")}</strong> {t("bannerBody")}
        {session?.expiresAt && <span className="temporary-expiry"> {t("expires", { date: fullDate(session.expiresAt) })}</span>}
      </p>
      {session && (
        <button type="button" className="btn btn-sm" onClick={() => keep.mutate({ id: session.id, temporary: false })} disabled={keep.isPending}>
          {t("keep")}
        </button>
      )}
    </div>
  );
}
