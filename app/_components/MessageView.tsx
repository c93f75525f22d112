"use client";
import { useTranslations } from "next-intl";
import { memo, useState } from "react";
import { CheckIcon, CopyIcon, Logo, RetryIcon } from "./icons";
import { Markdown } from "./Markdown";
import type { UiMessage } from "./streamReducer";
import type { Reference } from "./trpc";

const LABELLED_STATUSES = ["stopped", "interrupted", "failed"] as const;
const isLabelled = (status: string): status is (typeof LABELLED_STATUSES)[number] => (LABELLED_STATUSES as readonly string[]).includes(status);

export const MessageView = memo(function MessageView({
  message: m,
  streaming,
  restoring,
  connectionError,
  onReconnect,
  onRetrySend,
  onRetryAnswer,
}: {
  message: UiMessage;
  streaming: boolean;
  restoring: boolean;
  connectionError?: string;
  onReconnect: () => void;
  onRetrySend: () => void;
  onRetryAnswer: () => void;
}) {
  const t = useTranslations("message");
  const tc = useTranslations("common");
  if (m.role === "user") {
    return (
      <article className={`msg msg-user ${m.pending ? "is-pending" : ""}`} aria-label={t("yours")} data-message-id={m.id}>
        <div className="msg-user-bubble" data-testid="user-message">
          {m.content}
        </div>
        {m.sendError && (
          <div className="msg-error" role="alert">
            <span>{m.sendError}</span>
            <button type="button" className="btn btn-sm" onClick={onRetrySend}>
              <RetryIcon size={14} /> {tc("retry")}
            </button>
          </div>
        )}
      </article>
    );
  }

  const waiting = streaming && !m.content && !restoring;
  const label = isLabelled(m.status) ? t(`status.${m.status}`) : undefined;
  const failed = !streaming && (m.status === "failed" || m.status === "interrupted");
  return (
    <article
      className={`msg msg-assistant ${streaming ? "is-streaming" : ""}`}
      aria-label={t("answer")}
      aria-busy={streaming || undefined}
      data-message-id={m.id}
      data-status={streaming ? "streaming" : m.status}
    >
      <div className="msg-avatar" aria-hidden="true">
        <Logo size={26} />
      </div>
      <div className="msg-body">
        {restoring && (
          <p className="restoring" role="status">
            <span className="spinner" aria-hidden="true" /> {t("restoring")}
          </p>
        )}
        <div className="msg-content" data-testid="assistant-content">
          {m.content && <Markdown text={m.content} />}
          {waiting && (
            <span className="typing" role="status" aria-label={t("thinking")}>
              <span />
              <span />
              <span />
            </span>
          )}
        </div>
        {m.references.length > 0 && <Sources references={m.references} />}
        {connectionError && (
          <div className="msg-error" role="alert">
            <span>{t("lostConnection", { error: connectionError })}</span>
            <button type="button" className="btn btn-sm" onClick={onReconnect}>
              <RetryIcon size={14} /> {tc("retry")}
            </button>
          </div>
        )}
        {failed && (
          <div className="msg-error" role="alert">
            <span>{m.errorText ?? (m.status === "interrupted" ? t("interrupted") : t("failed"))}</span>
            <button type="button" className="btn btn-sm" onClick={onRetryAnswer}>
              <RetryIcon size={14} /> {tc("retry")}
            </button>
          </div>
        )}
        <footer className="msg-meta">
          {m.model && (
            <span className="msg-model" data-testid="message-model">
              {m.model}
            </span>
          )}
          {!streaming && label && <span className={`badge badge-${m.status}`}>{label}</span>}
          {streaming && !restoring && m.content && <span className="msg-live">{t("writing")}</span>}
          {!streaming && m.content && <CopyButton text={m.content} />}
        </footer>
      </div>
    </article>
  );
});

function Sources({ references }: { references: Reference[] }) {
  const t = useTranslations("message");
  return (
    <section className="sources" aria-label={t("sources")}>
      <h4>{t("sources")}</h4>
      <ol>
        {references.map((r, i) => (
          <li key={`${r.id}-${i}`} id={`source-${i + 1}`}>
            <details>
              <summary>
                <span className="source-n">{i + 1}</span>
                <span className="source-title">{r.title || r.source}</span>
                <span className="source-from">{r.source}</span>
              </summary>
              <p className="source-excerpt">{r.content.length > 600 ? `${r.content.slice(0, 600)}…` : r.content}</p>
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}

function CopyButton({ text }: { text: string }) {
  const t = useTranslations();
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="icon-btn icon-btn-sm"
      aria-label={copied ? t("common.copied") : t("message.copyAnswer")}
      title={copied ? t("common.copied") : t("common.copy")}
      onClick={() => void (async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          /* clipboard not allowed here */
        }
      })()}
    >
      {copied ? <CheckIcon size={15} /> : <CopyIcon size={15} />}
    </button>
  );
}
