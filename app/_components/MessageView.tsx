"use client";
import { useTranslations } from "next-intl";
import { memo, useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { CheckIcon, ChevronLeftIcon, ChevronRightIcon, CopyIcon, EditIcon, Logo, RetryIcon, ThumbDownIcon, ThumbUpIcon } from "./icons";
import { Markdown } from "./Markdown";
import type { UiMessage } from "./streamReducer";
import type { Reference } from "./trpc";
import type { Rating } from "./useBranches";

/** What a reader may do to a message's branch (all refused while `disabled`: an answer is being written). */
export interface BranchActions {
  disabled: boolean;
  onRegenerate: (answer: UiMessage) => void;
  onEdit: (question: UiMessage, query: string) => Promise<boolean>;
  onSwitch: (message: UiMessage, step: -1 | 1) => void;
  onRate: (answer: UiMessage, rating: Rating | null, reason?: string) => Promise<boolean>;
}

const MAX_QUERY = 16000;
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
  branch,
}: {
  message: UiMessage;
  streaming: boolean;
  restoring: boolean;
  connectionError?: string;
  onReconnect: () => void;
  onRetrySend: () => void;
  onRetryAnswer: () => void;
  branch: BranchActions;
}) {
  const t = useTranslations("message");
  const tc = useTranslations("common");
  const [editing, setEditing] = useState(false);
  if (m.role === "user") {
    const stored = !m.pending && !m.sendError;
    return (
      <article className={`msg msg-user ${m.pending ? "is-pending" : ""}`} aria-label={t("yours")} data-message-id={m.id}>
        {editing ? (
          <QuestionEditor
            initial={m.content}
            disabled={branch.disabled}
            onCancel={() => setEditing(false)}
            onSend={async (query) => {
              const sent = await branch.onEdit(m, query);
              if (sent) setEditing(false);
              return sent;
            }}
          />
        ) : (
          <div className="msg-user-bubble" data-testid="user-message">
            {m.content}
          </div>
        )}
        {stored && !editing && (
          <div className="msg-actions msg-user-actions">
            <Versions message={m} disabled={branch.disabled} onSwitch={branch.onSwitch} />
            <button
              type="button"
              className="icon-btn icon-btn-sm"
              aria-label={t("edit")}
              title={t("edit")}
              disabled={branch.disabled}
              onClick={() => setEditing(true)}
            >
              <EditIcon size={15} />
            </button>
          </div>
        )}
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
            <button type="button" className="btn btn-sm" onClick={onRetryAnswer} disabled={branch.disabled}>
              <RetryIcon size={14} /> {tc("retry")}
            </button>
          </div>
        )}
        <footer className="msg-meta">
          {!streaming && <Versions message={m} disabled={branch.disabled} onSwitch={branch.onSwitch} />}
          {m.model && (
            <span className="msg-model" data-testid="message-model">
              {m.model}
            </span>
          )}
          {!streaming && label && <span className={`badge badge-${m.status}`}>{label}</span>}
          {streaming && !restoring && m.content && <span className="msg-live">{t("writing")}</span>}
          {!streaming && (
            <span className="msg-actions">
              {m.content && <CopyButton text={m.content} />}
              <button
                type="button"
                className="icon-btn icon-btn-sm"
                aria-label={t("regenerate")}
                title={t("regenerate")}
                disabled={branch.disabled}
                onClick={() => branch.onRegenerate(m)}
              >
                <RetryIcon size={15} />
              </button>
              <FeedbackButtons message={m} onRate={branch.onRate} />
            </span>
          )}
        </footer>
      </div>
    </article>
  );
});

/** "‹ 2/3 ›" between the versions of a message (nothing when it has no other). */
function Versions({ message: m, disabled, onSwitch }: { message: UiMessage; disabled: boolean; onSwitch: BranchActions["onSwitch"] }) {
  const t = useTranslations("message");
  const { index, count } = m.siblings;
  if (count < 2) return null;
  return (
    <span className="versions" role="group" aria-label={t("versionOf", { index, count })} data-testid="versions">
      <button
        type="button"
        className="icon-btn icon-btn-xs"
        aria-label={t("previousVersion")}
        title={t("previousVersion")}
        disabled={disabled || index <= 1}
        onClick={() => onSwitch(m, -1)}
      >
        <ChevronLeftIcon size={14} />
      </button>
      <span className="versions-count" aria-hidden="true">
        {index}/{count}
      </span>
      <button
        type="button"
        className="icon-btn icon-btn-xs"
        aria-label={t("nextVersion")}
        title={t("nextVersion")}
        disabled={disabled || index >= count}
        onClick={() => onSwitch(m, 1)}
      >
        <ChevronRightIcon size={14} />
      </button>
    </span>
  );
}

/** A question edited in place: Enter sends the new version, Shift+Enter adds a line, Escape cancels. */
function QuestionEditor({ initial, disabled, onSend, onCancel }: { initial: string; disabled: boolean; onSend: (query: string) => Promise<boolean>; onCancel: () => void }) {
  const t = useTranslations("message");
  const tc = useTranslations("common");
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    el?.focus();
    el?.setSelectionRange(el.value.length, el.value.length);
  }, []);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);
  const query = text.trim();
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (query && !disabled && query.length <= MAX_QUERY) void onSend(query);
  };
  return (
    <form className="msg-edit" onSubmit={submit} aria-label={t("editLabel")}>
      <textarea
        ref={ref}
        rows={1}
        value={text}
        aria-label={t("editLabel")}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            submit();
          } else if (e.key === "Escape") {
            e.preventDefault();
            onCancel();
          }
        }}
      />
      <div className="msg-edit-actions">
        <span className="msg-edit-hint">{t("editHint")}</span>
        <button type="button" className="btn btn-sm btn-ghost" onClick={onCancel}>
          {tc("cancel")}
        </button>
        <button type="submit" className="btn btn-sm btn-primary" disabled={disabled || !query || query.length > MAX_QUERY}>
          {t("sendEdit")}
        </button>
      </div>
    </form>
  );
}

/** Thumbs up and down (pressed again: removed); after a rating, an optional reason. */
function FeedbackButtons({ message: m, onRate }: { message: UiMessage; onRate: BranchActions["onRate"] }) {
  const t = useTranslations("message");
  const tc = useTranslations("common");
  const [asking, setAsking] = useState<Rating | null>(null);
  const [reason, setReason] = useState("");
  const reasonRef = useRef<HTMLInputElement>(null);
  // The reason's box opens on the reader's own click: take the focus there.
  useEffect(() => {
    if (asking) reasonRef.current?.focus();
  }, [asking]);
  const current = m.feedback?.rating ?? null;
  const choose = async (rating: Rating) => {
    const next = current === rating ? null : rating;
    if ((await onRate(m, next)) && next) {
      setReason(m.feedback?.rating === next ? (m.feedback.reason ?? "") : "");
      setAsking(next);
    } else setAsking(null);
  };
  const thumb = (rating: Rating) => (
    <button
      type="button"
      className={`icon-btn icon-btn-sm thumb ${current === rating ? "is-on" : ""}`}
      aria-label={t(rating === "up" ? "goodAnswer" : "badAnswer")}
      title={t(rating === "up" ? "goodAnswer" : "badAnswer")}
      aria-pressed={current === rating}
      onClick={() => void choose(rating)}
    >
      {rating === "up" ? <ThumbUpIcon size={15} /> : <ThumbDownIcon size={15} />}
    </button>
  );
  return (
    <>
      {thumb("up")}
      {thumb("down")}
      {asking && (
        <form
          className="feedback-form"
          aria-label={t("feedbackLabel")}
          onSubmit={(e) => {
            e.preventDefault();
            void onRate(m, asking, reason.trim()).then((saved) => saved && setAsking(null));
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape") setAsking(null);
          }}
        >
          <input
            ref={reasonRef}
            value={reason}
            maxLength={500}
            aria-label={t(asking === "up" ? "reasonUp" : "reasonDown")}
            placeholder={t(asking === "up" ? "reasonUp" : "reasonDown")}
            onChange={(e) => setReason(e.target.value)}
          />
          <button type="submit" className="btn btn-sm" disabled={!reason.trim()}>
            {t("sendReason")}
          </button>
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => setAsking(null)}>
            {tc("close")}
          </button>
        </form>
      )}
      {!asking && m.feedback?.reason && <span className="feedback-reason">“{m.feedback.reason}”</span>}
    </>
  );
}

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
