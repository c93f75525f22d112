"use client";
import { useTranslations } from "next-intl";
import { useState } from "react";
import { CheckIcon, CopyIcon } from "../icons";

/** A new secret, shown once, with copy buttons for the key and a one-click sign-in link. */
export function KeyReveal({ title, apiKey, onDone }: { title: string; apiKey: string; onDone: () => void }) {
  const t = useTranslations();
  const [copied, setCopied] = useState<"key" | "link" | null>(null);
  const link = typeof window !== "undefined" ? `${window.location.origin}/signin#key=${apiKey}` : "";
  const copy = async (what: "key" | "link") => {
    try {
      await navigator.clipboard.writeText(what === "key" ? apiKey : link);
      setCopied(what);
      setTimeout(() => setCopied(null), 1500);
    } catch {
      /* clipboard blocked: the key is selectable */
    }
  };
  return (
    <section className="key-reveal" role="status" aria-labelledby="key-reveal-title">
      <h3 id="key-reveal-title">{title}</h3>
      <p>{t("admin.reveal.copyNow")}</p>
      <div className="key-row">
        <code className="key-value" data-testid="new-api-key" tabIndex={0}>
          {apiKey}
        </code>
        <button type="button" className="btn btn-sm" onClick={() => void copy("key")} aria-label={t("admin.reveal.copyKey")}>
          {copied === "key" ? <CheckIcon size={15} /> : <CopyIcon size={15} />}
          <span>{copied === "key" ? t("common.copied") : t("common.copy")}</span>
        </button>
      </div>
      <div className="key-actions">
        <button type="button" className="link-btn" onClick={() => void copy("link")}>
          {copied === "link" ? t("admin.reveal.linkCopied") : t("admin.reveal.copyLink")}
        </button>
        <button type="button" className="btn btn-sm" onClick={onDone}>
          {t("admin.reveal.done")}
        </button>
      </div>
    </section>
  );
}
