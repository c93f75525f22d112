"use client";
import { useTranslations } from "next-intl";
import { useEffect, useState } from "react";
import { Modal } from "../Dialog";
import { errorMessage } from "../errors";
import { ThumbDownIcon, ThumbUpIcon } from "../icons";
import { Markdown } from "../Markdown";
import { useTRPCClient, type Message, type RouterOutputs } from "../trpc";
import { useDates, useSessionTitle } from "../util";

type Row = RouterOutputs["admin"]["sessions"]["items"][number];

/** A read-only transcript of any session of the tenant (admins may read them all). */
export function Transcript({ session, onClose }: { session: Row; onClose: () => void }) {
  const t = useTranslations();
  const { fullDate } = useDates();
  const sessionTitle = useSessionTitle();
  const client = useTRPCClient();
  const [messages, setMessages] = useState<Message[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const load = async (before?: Date) => {
    setLoading(true);
    try {
      const page = await client.message.list.query({ sessionId: session.id, limit: 50, ...(before && { before }) });
      setMessages((prev) => {
        const known = new Set(prev.map((m) => m.id));
        return [...page.items.filter((m) => !known.has(m.id)), ...prev];
      });
      setHasMore(page.hasMore);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session.id]);

  return (
    <Modal open title={sessionTitle(session)} onClose={onClose} wide className="transcript-modal">
      <p className="transcript-meta muted">
        {t("admin.transcript.meta", {
          owner: session.owner?.name ?? "—",
          role: session.owner ? t(`account.roles.${session.owner.role}`) : "—",
          count: session.messageCount,
          updated: fullDate(session.updatedAt),
        })}
      </p>
      {hasMore && (
        <button type="button" className="link-btn" disabled={loading} onClick={() => messages[0] && void load(new Date(messages[0].createdAt))}>
          {loading ? t("common.loading") : t("chat.loadOlder")}
        </button>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {messages.some((m) => m.siblings.count > 1) && <p className="transcript-note muted">{t("admin.transcript.branchNote")}</p>}
      <ol className="transcript" aria-label={t("admin.transcript.label")}>
        {messages.map((m) => (
          <li key={m.id} className={`transcript-msg transcript-${m.role}`}>
            <div className="transcript-who">
              <strong>{m.role === "user" ? session.owner?.name ?? t("admin.transcript.user") : "Parley"}</strong>
              <span className="muted">{fullDate(m.createdAt)}</span>
              {m.role === "assistant" && m.model && <span className="muted">· {m.model}</span>}
              {m.status !== "completed" && <span className={`badge badge-${m.status}`}>{t(`admin.transcript.status.${m.status}`)}</span>}
              {m.siblings.count > 1 && <span className="badge">{t("admin.transcript.version", m.siblings)}</span>}
              {m.feedback && (
                <span className={`badge ${m.feedback.rating === "up" ? "badge-ok" : "badge-failed"}`}>
                  {m.feedback.rating === "up" ? <ThumbUpIcon size={12} /> : <ThumbDownIcon size={12} />}{" "}
                  {t(m.feedback.rating === "up" ? "admin.transcript.ratedUp" : "admin.transcript.ratedDown")}
                </span>
              )}
            </div>
            {m.feedback?.reason && <p className="transcript-reason">“{m.feedback.reason}”</p>}
            {m.role === "user" ? <p className="transcript-text">{m.content}</p> : <Markdown text={m.content || t("admin.transcript.noContent")} />}
          </li>
        ))}
        {!loading && !error && messages.length === 0 && <li className="panel-empty">{t("admin.transcript.empty")}</li>}
      </ol>
    </Modal>
  );
}
