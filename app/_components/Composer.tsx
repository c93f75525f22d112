"use client";
import { useFormatter, useTranslations } from "next-intl";
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { SendIcon, StopIcon } from "./icons";
import { drafts } from "./util";

const MAX_QUERY = 16000;

/** The message box: Enter sends, Shift+Enter adds a line; the draft survives a reload. */
export function Composer({
  draftKey,
  disabled,
  streaming,
  stopping,
  onSend,
  onStop,
}: {
  draftKey: string | null;
  disabled: boolean;
  streaming: boolean;
  stopping: boolean;
  onSend: (text: string) => Promise<boolean>;
  onStop: () => void;
}) {
  const t = useTranslations("composer");
  const format = useFormatter();
  const [text, setText] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);
  const keyRef = useRef(draftKey);

  // Restore the draft of this chat (and keep it as the user types).
  useEffect(() => {
    const previous = keyRef.current;
    keyRef.current = draftKey;
    // A new chat that just became a session keeps what is in the box.
    if (previous === null && draftKey !== null && previous !== draftKey) return;
    setText(drafts.get(draftKey));
  }, [draftKey]);
  useEffect(() => {
    const t = setTimeout(() => drafts.set(keyRef.current, text), 200);
    return () => clearTimeout(t);
  }, [text]);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);

  // Back to the box when the answer is done.
  const wasDisabled = useRef(disabled);
  useEffect(() => {
    if (wasDisabled.current && !disabled && window.matchMedia("(pointer: fine)").matches) ref.current?.focus();
    wasDisabled.current = disabled;
  }, [disabled]);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const value = text.trim();
    if (!value || disabled || value.length > MAX_QUERY) return;
    setText("");
    drafts.set(keyRef.current, "");
    const ok = await onSend(value);
    if (!ok) setText((current) => current || value);
  };

  const tooLong = text.length > MAX_QUERY;
  return (
    <form className={`composer ${disabled ? "is-disabled" : ""}`} onSubmit={(e) => void submit(e)} aria-label={t("label")}>
      <textarea
        ref={ref}
        rows={1}
        value={text}
        disabled={disabled}
        aria-label={t("message")}
        placeholder={streaming ? t("answering") : t("placeholder")}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void submit();
          }
        }}
        aria-invalid={tooLong || undefined}
      />
      {streaming ? (
        <button type="button" className="composer-btn stop" aria-label={t("stop")} title={t("stopTitle")} onClick={onStop} disabled={stopping}>
          <StopIcon />
        </button>
      ) : (
        <button
          type="submit"
          className="composer-btn send"
          aria-label={t("send")}
          title={t("sendTitle")}
          disabled={disabled || !text.trim() || tooLong}
        >
          <SendIcon />
        </button>
      )}
      {tooLong && (
        <span className="composer-count" role="status">
          {format.number(text.length)} / {format.number(MAX_QUERY)}
        </span>
      )}
    </form>
  );
}
