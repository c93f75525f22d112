"use client";
import { useTranslations } from "next-intl";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { MAX_DOCUMENT_BYTES } from "@/common/limits";
import { errorMessage } from "../errors";
import { useTRPC } from "../trpc";
import { formatBytes } from "./knowledge";

/** The formats one may paste in; plain text's name is a message, the others are the same in every language. */
const FORMATS = [
  { value: "text/plain", label: null },
  { value: "text/markdown", label: "Markdown" },
  { value: "text/html", label: "HTML" },
] as const;
type Format = (typeof FORMATS)[number]["value"];

/** A document typed or pasted in, added with `knowledge.documents.add`. */
export function PasteText({ knowledgeBaseId, onAdded }: { knowledgeBaseId: string; onAdded: () => void }) {
  const t = useTranslations("knowledge");
  const trpc = useTRPC();
  const [title, setTitle] = useState("");
  const [format, setFormat] = useState<Format>("text/markdown");
  const [content, setContent] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const [problem, setProblem] = useState<{ field: "title" | "content"; message: string } | null>(null);
  const add = useMutation(trpc.knowledge.documents.add.mutationOptions());
  const bytes = new TextEncoder().encode(content).length;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    if (!title.trim()) return setProblem({ field: "title", message: t("paste.needTitle") });
    if (!content.trim()) return setProblem({ field: "content", message: t("paste.needText") });
    if (bytes > MAX_DOCUMENT_BYTES) return setProblem({ field: "content", message: t("paste.tooLarge", { size: formatBytes(bytes) }) });
    setProblem(null);
    try {
      const document = await add.mutateAsync({ knowledgeBaseId, title: title.trim(), content, mimeType: format });
      setDone(t("paste.added", { title: document.title, chunks: t("chunks", { count: document.chunkCount }) }));
      setTitle("");
      setContent("");
      onAdded();
    } catch {
      /* shown below */
    }
  };

  return (
    <form id="kb-paste" className="kb-paste" onSubmit={(e) => void submit(e)} noValidate aria-label={t("paste.label")}>
      <div className="kb-paste-row">
        <div className={`field ${problem?.field === "title" ? "has-error" : ""}`}>
          <label htmlFor="kb-paste-title">{t("paste.title")}</label>
          <input
            id="kb-paste-title"
            value={title}
            maxLength={255}
            onChange={(e) => setTitle(e.target.value)}
            placeholder={t("paste.titlePlaceholder")}
            aria-invalid={problem?.field === "title" || undefined}
          />
        </div>
        <div className="field">
          <label htmlFor="kb-paste-format">{t("paste.format")}</label>
          <select id="kb-paste-format" value={format} onChange={(e) => setFormat(e.target.value as Format)}>
            {FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label ?? t("paste.plain")}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className={`field ${problem?.field === "content" ? "has-error" : ""}`}>
        <label htmlFor="kb-paste-content">{t("paste.text")}</label>
        <textarea
          id="kb-paste-content"
          rows={6}
          value={content}
          onChange={(e) => setContent(e.target.value)}
          aria-invalid={problem?.field === "content" || undefined}
          aria-describedby="kb-paste-hint"
        />
        <p className="field-hint" id="kb-paste-hint">
          {t("paste.size", { size: formatBytes(bytes) })}
        </p>
      </div>
      {problem && (
        <p className="form-error" role="alert">
          {problem.message}
        </p>
      )}
      {add.isError && !problem && (
        <p className="form-error" role="alert">
          {errorMessage(add.error)}
        </p>
      )}
      {done && (
        <p className="form-ok" role="status">
          {done}
        </p>
      )}
      <div className="kb-paste-actions">
        <button type="submit" className="btn btn-primary btn-sm" disabled={add.isPending}>
          {add.isPending ? t("paste.adding") : t("paste.add")}
        </button>
      </div>
    </form>
  );
}
