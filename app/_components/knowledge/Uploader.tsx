"use client";
import { useTranslations } from "next-intl";
import { useEffect, useRef, useState, type DragEvent } from "react";
import { CheckIcon, CloseIcon } from "../icons";
import { uuid } from "../util";
import { FileIcon, UploadIcon } from "./icons";
import { fileProblem, formatBytes, UPLOAD_ACCEPT } from "./knowledge";

/** How many files go up at once (each is parsed and embedded on the server as it arrives). */
const PARALLEL = 2;

type UploadState = "queued" | "uploading" | "indexing" | "done" | "error";

interface Upload {
  key: string;
  name: string;
  size: number;
  /** Bytes sent so far, from the XHR upload progress events. */
  loaded: number;
  state: UploadState;
  error?: string;
  chunkCount?: number;
}

/**
 * Files into a knowledge base: dropped on the area or chosen with the picker, several at once.
 * Each goes up as multipart to `POST /api/knowledge/upload` with XMLHttpRequest, whose upload
 * progress events (fetch has none) drive a real progress bar; then the server parses and indexes
 * it. Unsupported and too-large files are refused here, before any byte is sent.
 */
export function Uploader({ knowledgeBaseId, onUploaded }: { knowledgeBaseId: string; onUploaded: () => void }) {
  const t = useTranslations("knowledge.upload");
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const files = useRef(new Map<string, File>());
  const requests = useRef(new Map<string, XMLHttpRequest>());
  const input = useRef<HTMLInputElement>(null);
  const dragDepth = useRef(0);
  const onUploadedRef = useRef(onUploaded);
  onUploadedRef.current = onUploaded;

  const patch = (key: string, change: Partial<Upload>) => setUploads((prev) => prev.map((u) => (u.key === key ? { ...u, ...change } : u)));

  const add = (list: FileList | File[] | null) => {
    if (!list || list.length === 0) return;
    const added: Upload[] = [...list].map((file) => {
      const key = uuid();
      const problem = fileProblem(file);
      if (!problem) files.current.set(key, file);
      return { key, name: file.name, size: file.size, loaded: 0, state: problem ? "error" : "queued", error: problem ? t(problem.key, problem.values) : undefined };
    });
    setUploads((prev) => [...added, ...prev]);
  };

  const send = (key: string) => {
    const file = files.current.get(key);
    if (!file) return;
    const xhr = new XMLHttpRequest();
    requests.current.set(key, xhr);
    const finish = (change: Partial<Upload>) => {
      requests.current.delete(key);
      files.current.delete(key);
      patch(key, change);
    };
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) patch(key, { loaded: Math.min(file.size, Math.round((e.loaded / e.total) * file.size)) });
    };
    xhr.upload.onload = () => patch(key, { loaded: file.size, state: "indexing" });
    xhr.onload = () => {
      let body: { chunkCount?: number; error?: { message?: string } } | null = null;
      try {
        body = JSON.parse(xhr.responseText) as { chunkCount?: number; error?: { message?: string } };
      } catch {
        /* not JSON: a proxy's error page */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        finish({ state: "done", loaded: file.size, chunkCount: body?.chunkCount });
        onUploadedRef.current();
      } else if (xhr.status === 401) {
        finish({ state: "error", error: t("expired") });
      } else if (xhr.status === 413) {
        finish({ state: "error", error: body?.error?.message ?? t("tooLargeLimit") });
      } else {
        finish({ state: "error", error: body?.error?.message ?? t("httpFailed", { status: xhr.status }) });
      }
    };
    xhr.onerror = () => finish({ state: "error", error: t("unreachable") });
    xhr.onabort = () => finish({ state: "error", error: t("cancelled") });
    const form = new FormData();
    form.set("knowledgeBaseId", knowledgeBaseId);
    form.set("file", file);
    xhr.open("POST", "/api/knowledge/upload");
    xhr.send(form);
  };

  // Start queued files, oldest first, while fewer than PARALLEL are on their way.
  useEffect(() => {
    const active = uploads.filter((u) => u.state === "uploading" || u.state === "indexing").length;
    const next = uploads
      .filter((u) => u.state === "queued")
      .reverse()
      .slice(0, Math.max(0, PARALLEL - active));
    if (next.length === 0) return;
    setUploads((prev) => prev.map((u) => (next.some((n) => n.key === u.key) ? { ...u, state: "uploading" } : u)));
    for (const u of next) send(u.key);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [uploads]);

  // Leaving the page does not cancel uploads in flight: they finish and appear in the list.
  useEffect(() => () => files.current.clear(), []);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    add(e.dataTransfer.files);
  };

  const added = uploads.filter((u) => u.state === "done").length;
  const failed = uploads.filter((u) => u.state === "error").length;
  const finished = added + failed;
  const busy = uploads.some((u) => u.state === "queued" || u.state === "uploading" || u.state === "indexing");

  return (
    <div className="kb-uploader">
      <div
        className={`kb-dropzone ${dragging ? "is-dragging" : ""}`}
        data-testid="dropzone"
        onDragEnter={(e) => {
          e.preventDefault();
          dragDepth.current += 1;
          setDragging(true);
        }}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
        }}
        onDragLeave={() => {
          dragDepth.current = Math.max(0, dragDepth.current - 1);
          if (dragDepth.current === 0) setDragging(false);
        }}
        onDrop={onDrop}
      >
        <UploadIcon size={26} className="kb-dropzone-icon" />
        <p className="kb-dropzone-text">
          <strong>{t("drop")}</strong> <span className="kb-hide-narrow">{t("or")}</span>
        </p>
        <button type="button" className="btn btn-sm" onClick={() => input.current?.click()}>
          {t("choose")}
        </button>
        <p className="field-hint">{t("hint")}</p>
        <input
          ref={input}
          type="file"
          multiple
          accept={UPLOAD_ACCEPT}
          className="visually-hidden"
          tabIndex={-1}
          aria-label={t("files")}
          onChange={(e) => {
            add(e.target.files);
            e.target.value = "";
          }}
        />
      </div>

      {uploads.length > 0 && (
        <>
          <ul className="kb-uploads" aria-label={t("uploads")}>
            {uploads.map((u) => (
              <UploadRow
                key={u.key}
                upload={u}
                onCancel={() => requests.current.get(u.key)?.abort()}
                onDismiss={() => setUploads((prev) => prev.filter((p) => p.key !== u.key))}
              />
            ))}
          </ul>
          <div className="kb-uploads-foot">
            <span className="muted" aria-live="polite">
              {busy
                ? t("uploading", { count: uploads.length - finished })
                : [added && t("added", { count: added }), failed && t("failed", { count: failed })].filter(Boolean).join(" · ")}
            </span>
            {finished > 0 && (
              <button type="button" className="link-btn" onClick={() => setUploads((prev) => prev.filter((u) => u.state !== "done" && u.state !== "error"))}>
                {t("clear")}
              </button>
            )}
          </div>
        </>
      )}
    </div>
  );
}

function UploadRow({ upload: u, onCancel, onDismiss }: { upload: Upload; onCancel: () => void; onDismiss: () => void }) {
  const t = useTranslations("knowledge");
  const percent = u.size ? Math.round((u.loaded / u.size) * 100) : 0;
  const status =
    u.state === "queued"
      ? t("upload.waiting")
      : u.state === "uploading"
        ? t("upload.progress", { percent, loaded: formatBytes(u.loaded), size: formatBytes(u.size) })
        : u.state === "indexing"
          ? t("upload.indexing")
          : u.state === "done"
            ? t("upload.done", { chunks: u.chunkCount !== undefined ? t("chunks", { count: u.chunkCount }) : t("upload.indexed") })
            : u.error;
  return (
    <li className={`kb-upload is-${u.state}`} data-state={u.state}>
      <span className="kb-upload-icon" aria-hidden="true">
        {u.state === "done" ? <CheckIcon size={16} /> : <FileIcon size={16} />}
      </span>
      <div className="kb-upload-body">
        <div className="kb-upload-line">
          <span className="kb-upload-name" title={u.name}>
            {u.name}
          </span>
          <span className="kb-upload-size">{formatBytes(u.size)}</span>
        </div>
        {u.state !== "error" && u.state !== "done" && (
          <div
            className={`kb-progress ${u.state === "indexing" ? "is-indeterminate" : ""}`}
            role="progressbar"
            aria-label={t("upload.uploadingFile", { name: u.name })}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={u.state === "indexing" ? undefined : percent}
            aria-valuetext={status}
          >
            <span style={{ width: `${u.state === "indexing" ? 100 : percent}%` }} />
          </div>
        )}
        <p className={`kb-upload-status ${u.state === "error" ? "is-error" : ""}`} role={u.state === "error" ? "alert" : undefined}>
          {status}
        </p>
      </div>
      {u.state === "uploading" || u.state === "queued" ? (
        <button type="button" className="icon-btn icon-btn-sm" aria-label={t("upload.cancelFile", { name: u.name })} title={t("upload.cancel")} onClick={u.state === "queued" ? onDismiss : onCancel}>
          <CloseIcon size={14} />
        </button>
      ) : u.state === "done" || u.state === "error" ? (
        <button type="button" className="icon-btn icon-btn-sm" aria-label={t("upload.dismissFile", { name: u.name })} title={t("upload.dismiss")} onClick={onDismiss}>
          <CloseIcon size={14} />
        </button>
      ) : (
        <span className="icon-btn icon-btn-sm" aria-hidden="true">
          <span className="spinner" />
        </span>
      )}
    </li>
  );
}
