"use client";
import { useEffect, useState } from "react";
import { Modal } from "../Dialog";
import { errorMessage } from "../errors";
import { Markdown } from "../Markdown";
import { useTRPCClient, type Message, type RouterOutputs } from "../trpc";
import { fullDate, sessionTitle } from "../util";

type Row = RouterOutputs["admin"]["sessions"]["items"][number];

/** A read-only transcript of any session of the tenant (admins may read them all). */
export function Transcript({ session, onClose }: { session: Row; onClose: () => void }) {
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
        {session.owner?.name} ({session.owner?.role}) · {session.messageCount} messages · updated {fullDate(session.updatedAt)} · read-only
      </p>
      {hasMore && (
        <button type="button" className="link-btn" disabled={loading} onClick={() => messages[0] && load(new Date(messages[0].createdAt))}>
          {loading ? "Loading…" : "Load earlier messages"}
        </button>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <ol className="transcript" aria-label="Transcript">
        {messages.map((m) => (
          <li key={m.id} className={`transcript-msg transcript-${m.role}`}>
            <div className="transcript-who">
              <strong>{m.role === "user" ? session.owner?.name ?? "User" : "Parley"}</strong>
              <span className="muted">{fullDate(m.createdAt)}</span>
              {m.role === "assistant" && m.model && <span className="muted">· {m.model}</span>}
              {m.status !== "completed" && <span className={`badge badge-${m.status}`}>{m.status}</span>}
            </div>
            {m.role === "user" ? <p className="transcript-text">{m.content}</p> : <Markdown text={m.content || "_(no content)_"} />}
          </li>
        ))}
        {!loading && !error && messages.length === 0 && <li className="panel-empty">No messages in this session.</li>}
      </ol>
    </Modal>
  );
}
