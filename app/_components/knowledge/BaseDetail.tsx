"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmDialog } from "../Dialog";
import { errorMessage } from "../errors";
import { ChatIcon, EditIcon, TrashIcon } from "../icons";
import type { PublicMe } from "../serverAuth";
import { useTRPC } from "../trpc";
import { fullDate, shortDate } from "../util";
import { BaseFormDialog } from "./BaseFormDialog";
import { BackIcon, LockIcon, PasteIcon } from "./icons";
import { formatBytes, isProvided, mimeLabel, plural, type KnowledgeBase, type KnowledgeDocument } from "./knowledge";
import { PasteText } from "./PasteText";
import { SearchPanel } from "./SearchPanel";
import { Uploader } from "./Uploader";

/** One knowledge base: what it is, adding documents, its documents, and a search of it. */
export function BaseDetail({
  me,
  base,
  bases,
  onBack,
  onDeleted,
}: {
  me: PublicMe;
  base: KnowledgeBase;
  bases: KnowledgeBase[];
  onBack: () => void;
  onDeleted: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const provided = isProvided(base);
  const documents = useQuery(trpc.knowledge.documents.list.queryOptions({ knowledgeBaseId: base.id }));
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [pasting, setPasting] = useState(false);
  const [deletingDoc, setDeletingDoc] = useState<KnowledgeDocument | null>(null);

  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.knowledge.documents.list.queryKey({ knowledgeBaseId: base.id }) }),
      queryClient.invalidateQueries({ queryKey: trpc.knowledge.bases.list.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.knowledge.search.pathKey() }),
    ]);

  const update = useMutation(trpc.knowledge.bases.update.mutationOptions());
  const remove = useMutation(trpc.knowledge.bases.delete.mutationOptions());
  const removeDoc = useMutation(trpc.knowledge.documents.delete.mutationOptions());
  const startChat = useMutation(trpc.session.create.mutationOptions());

  const canDeleteDoc = (d: KnowledgeDocument) => !provided && (base.canManage || d.createdBy === me.user.id);

  return (
    <div className="kb-detail">
      <section className="card kb-base-card" aria-labelledby="kb-base-title">
        <button type="button" className="btn btn-ghost btn-sm kb-back" onClick={onBack}>
          <BackIcon size={16} />
          <span>All knowledge bases</span>
        </button>
        <div className="kb-base-head">
          <div className="kb-base-text">
            <h2 id="kb-base-title">
              {base.name}
              {provided && (
                <span className="badge kb-readonly">
                  <LockIcon size={11} />
                  Read-only
                </span>
              )}
            </h2>
            {base.description && <p className="kb-base-desc">{base.description}</p>}
            <p className="muted kb-base-meta" data-testid="base-counts">
              {plural(base.documentCount, "document")} · {plural(base.chunkCount, "chunk")} · created{" "}
              <time dateTime={new Date(base.createdAt).toISOString()} title={fullDate(base.createdAt)}>
                {shortDate(base.createdAt)}
              </time>
            </p>
          </div>
          <div className="kb-base-actions">
            <button
              type="button"
              className="btn btn-sm"
              disabled={startChat.isPending}
              title="A new chat that answers from this base only"
              onClick={async () => {
                try {
                  const s = await startChat.mutateAsync({ knowledgeBaseId: base.id, agentConfig: { knowledgeBases: [] } });
                  window.location.assign(`/?c=${s.id}`);
                } catch {
                  /* shown below */
                }
              }}
            >
              <ChatIcon size={15} />
              <span>{startChat.isPending ? "Starting…" : "Chat with it"}</span>
            </button>
            {base.canManage && (
              <>
                <button type="button" className="btn btn-sm" onClick={() => setEditing(true)} aria-label={`Edit ${base.name}`}>
                  <EditIcon size={15} />
                  <span>Edit</span>
                </button>
                <button type="button" className="btn btn-sm btn-danger-outline" onClick={() => setConfirmDelete(true)} aria-label={`Delete ${base.name}`}>
                  <TrashIcon size={15} />
                  <span>Delete</span>
                </button>
              </>
            )}
          </div>
        </div>
        {startChat.isError && (
          <p className="form-error" role="alert">
            {errorMessage(startChat.error)}
          </p>
        )}
        {provided ? (
          <p className="kb-note">Parley keeps this base in sync with its own documentation, so it cannot be changed by hand. Chats can still use it or leave it out.</p>
        ) : (
          !base.canManage && <p className="kb-note">Anyone in your tenant can add documents here. Only its creator or an admin can rename or delete it.</p>
        )}
      </section>

      {!provided && (
        <section className="card" aria-labelledby="kb-add-title">
          <header className="card-header">
            <h2 id="kb-add-title">Add documents</h2>
            <span className="muted">Split into chunks and indexed for keyword and vector search.</span>
          </header>
          <Uploader knowledgeBaseId={base.id} onUploaded={refresh} />
          <div className="kb-paste-toggle">
            <button type="button" className="btn btn-sm" aria-expanded={pasting} aria-controls="kb-paste" onClick={() => setPasting((v) => !v)}>
              <PasteIcon size={15} />
              <span>{pasting ? "Hide paste text" : "Paste text"}</span>
            </button>
          </div>
          {pasting && (
            <PasteText
              knowledgeBaseId={base.id}
              onAdded={() => {
                void refresh();
              }}
            />
          )}
        </section>
      )}

      <section className="card" aria-labelledby="kb-docs-title">
        <header className="card-header">
          <h2 id="kb-docs-title">Documents</h2>
          <span className="muted">{documents.data ? plural(documents.data.items.length, "document") : ""}</span>
        </header>
        {documents.isPending && <p className="panel-empty">Loading documents…</p>}
        {documents.isError && (
          <p className="panel-empty" role="alert">
            {errorMessage(documents.error)}
          </p>
        )}
        {documents.data && documents.data.items.length === 0 && (
          <p className="panel-empty">{provided ? "No documents." : "No documents yet. Drop files above or paste text."}</p>
        )}
        {documents.data && documents.data.items.length > 0 && (
          <div className="table-wrap">
            <table className="data-table stack kb-docs">
              <thead>
                <tr>
                  <th scope="col">Title</th>
                  <th scope="col" className="num">
                    Chunks
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Type</th>
                  <th scope="col" className="num">
                    Size
                  </th>
                  <th scope="col">Added</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {documents.data.items.map((d) => (
                  <tr key={d.id} data-document-id={d.id}>
                    <td className="col-title">
                      <span className="kb-doc-title">{d.title}</span>
                    </td>
                    <td className="num" data-label="Chunks" data-testid="chunk-count">
                      {d.chunkCount.toLocaleString("en-US")}
                    </td>
                    <td data-label="Status">
                      <span className="badge badge-ok">{d.status === "ready" ? "Ready" : d.status}</span>
                    </td>
                    <td data-label="Type">{mimeLabel(d.mimeType)}</td>
                    <td className="num" data-label="Size">
                      {formatBytes(d.sizeBytes)}
                    </td>
                    <td data-label="Added" title={fullDate(d.createdAt)}>
                      {shortDate(d.createdAt)}
                    </td>
                    <td className="col-actions">
                      {canDeleteDoc(d) && (
                        <button type="button" className="icon-btn icon-btn-sm" aria-label={`Delete ${d.title}`} title="Delete" onClick={() => setDeletingDoc(d)}>
                          <TrashIcon size={16} />
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <SearchPanel base={base} bases={bases} />

      <BaseFormDialog
        open={editing}
        title={`Edit ${base.name}`}
        initial={{ name: base.name, description: base.description }}
        submitLabel="Save"
        busyLabel="Saving…"
        busy={update.isPending}
        error={update.error ? errorMessage(update.error) : undefined}
        onCancel={() => {
          setEditing(false);
          update.reset();
        }}
        onSubmit={async (values) => {
          try {
            await update.mutateAsync({ id: base.id, ...values });
            await queryClient.invalidateQueries({ queryKey: trpc.knowledge.bases.list.queryKey() });
            setEditing(false);
            update.reset();
          } catch {
            /* shown in the dialog */
          }
        }}
      />

      <ConfirmDialog
        open={confirmDelete}
        title="Delete knowledge base?"
        confirmLabel="Delete base"
        busy={remove.isPending}
        error={remove.error ? errorMessage(remove.error) : undefined}
        onCancel={() => {
          setConfirmDelete(false);
          remove.reset();
        }}
        onConfirm={async () => {
          try {
            await remove.mutateAsync({ id: base.id });
            setConfirmDelete(false);
            queryClient.setQueryData(trpc.knowledge.bases.list.queryKey(), (old) => (old ? { items: old.items.filter((b) => b.id !== base.id) } : old));
            onDeleted();
            void queryClient.invalidateQueries({ queryKey: trpc.knowledge.bases.list.queryKey() });
          } catch {
            /* shown in the dialog */
          }
        }}
      >
        <p>
          <strong>{base.name}</strong> and its {plural(base.documentCount, "document")} ({plural(base.chunkCount, "chunk")}) will be deleted. Chats that use it
          will no longer find its sources. This cannot be undone.
        </p>
      </ConfirmDialog>

      <ConfirmDialog
        open={deletingDoc !== null}
        title="Delete document?"
        confirmLabel="Delete document"
        busy={removeDoc.isPending}
        error={removeDoc.error ? errorMessage(removeDoc.error) : undefined}
        onCancel={() => {
          setDeletingDoc(null);
          removeDoc.reset();
        }}
        onConfirm={async () => {
          if (!deletingDoc) return;
          try {
            await removeDoc.mutateAsync({ id: deletingDoc.id });
            setDeletingDoc(null);
            await refresh();
          } catch {
            /* shown in the dialog */
          }
        }}
      >
        <p>
          <strong>{deletingDoc?.title}</strong> and its {plural(deletingDoc?.chunkCount ?? 0, "chunk")} will be removed from {base.name}. This cannot be undone.
        </p>
      </ConfirmDialog>
    </div>
  );
}
