"use client";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../errors";
import { useTRPC } from "../trpc";
import { formatBytes, MAX_DOCUMENT_BYTES, plural } from "./knowledge";

const FORMATS = [
  { value: "text/plain", label: "Plain text" },
  { value: "text/markdown", label: "Markdown" },
  { value: "text/html", label: "HTML" },
] as const;
type Format = (typeof FORMATS)[number]["value"];

/** A document typed or pasted in, added with `knowledge.documents.add`. */
export function PasteText({ knowledgeBaseId, onAdded }: { knowledgeBaseId: string; onAdded: () => void }) {
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
    if (!title.trim()) return setProblem({ field: "title", message: "Give the document a title." });
    if (!content.trim()) return setProblem({ field: "content", message: "Paste or type the text to add." });
    if (bytes > MAX_DOCUMENT_BYTES) return setProblem({ field: "content", message: `Too large: ${formatBytes(bytes)}. The limit is 5 MB.` });
    setProblem(null);
    try {
      const document = await add.mutateAsync({ knowledgeBaseId, title: title.trim(), content, mimeType: format });
      setDone(`Added “${document.title}” · ${plural(document.chunkCount, "chunk")}.`);
      setTitle("");
      setContent("");
      onAdded();
    } catch {
      /* shown below */
    }
  };

  return (
    <form id="kb-paste" className="kb-paste" onSubmit={submit} noValidate aria-label="Paste text">
      <div className="kb-paste-row">
        <div className={`field ${problem?.field === "title" ? "has-error" : ""}`}>
          <label htmlFor="kb-paste-title">Title</label>
          <input
            id="kb-paste-title"
            value={title}
            maxLength={255}
            onChange={(e) => setTitle(e.target.value)}
            placeholder="e.g. Refund policy"
            aria-invalid={problem?.field === "title" || undefined}
          />
        </div>
        <div className="field">
          <label htmlFor="kb-paste-format">Format</label>
          <select id="kb-paste-format" value={format} onChange={(e) => setFormat(e.target.value as Format)}>
            {FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className={`field ${problem?.field === "content" ? "has-error" : ""}`}>
        <label htmlFor="kb-paste-content">Text</label>
        <textarea
          id="kb-paste-content"
          rows={6}
          value={content}
          onChange={(e) => setContent(e.target.value)}
          aria-invalid={problem?.field === "content" || undefined}
          aria-describedby="kb-paste-hint"
        />
        <p className="field-hint" id="kb-paste-hint">
          {formatBytes(bytes)} of 5 MB
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
          {add.isPending ? "Adding…" : "Add document"}
        </button>
      </div>
    </form>
  );
}
