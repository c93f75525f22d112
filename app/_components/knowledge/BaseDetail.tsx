"use client";
import { useFormatter, useTranslations } from "next-intl";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmDialog } from "../Dialog";
import { errorMessage } from "../errors";
import { ChatIcon, EditIcon, TrashIcon } from "../icons";
import type { PublicMe } from "../serverAuth";
import { useTRPC } from "../trpc";
import { useDates } from "../util";
import { BaseFormDialog } from "./BaseFormDialog";
import { BackIcon, LockIcon, PasteIcon } from "./icons";
import { formatBytes, isProvided, mimeLabel, type KnowledgeBase, type KnowledgeDocument } from "./knowledge";
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
  const t = useTranslations("knowledge");
  const tc = useTranslations("common");
  const format = useFormatter();
  const { shortDate, fullDate } = useDates();
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
          <span>{t("detail.allBases")}</span>
        </button>
        <div className="kb-base-head">
          <div className="kb-base-text">
            <h2 id="kb-base-title">
              {base.name}
              {provided && (
                <span className="badge kb-readonly">
                  <LockIcon size={11} />
                  {t("readOnly")}
                </span>
              )}
            </h2>
            {base.description && <p className="kb-base-desc">{base.description}</p>}
            <p className="muted kb-base-meta" data-testid="base-counts">
              {t("documents", { count: base.documentCount })} · {t("chunks", { count: base.chunkCount })} · {t("detail.created")}{" "}
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
              title={t("detail.chatTitle")}
              onClick={() => void (async () => {
                try {
                  const s = await startChat.mutateAsync({ knowledgeBaseId: base.id, agentConfig: { knowledgeBases: [] } });
                  window.location.assign(`/?c=${s.id}`);
                } catch {
                  /* shown below */
                }
              })()}
            >
              <ChatIcon size={15} />
              <span>{startChat.isPending ? t("detail.starting") : t("detail.chat")}</span>
            </button>
            {base.canManage && (
              <>
                <button type="button" className="btn btn-sm" onClick={() => setEditing(true)} aria-label={t("detail.editBase", { name: base.name })}>
                  <EditIcon size={15} />
                  <span>{t("detail.edit")}</span>
                </button>
                <button type="button" className="btn btn-sm btn-danger-outline" onClick={() => setConfirmDelete(true)} aria-label={t("detail.deleteBase", { name: base.name })}>
                  <TrashIcon size={15} />
                  <span>{tc("delete")}</span>
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
          <p className="kb-note">{t("detail.providedNote")}</p>
        ) : (
          !base.canManage && <p className="kb-note">{t("detail.sharedNote")}</p>
        )}
      </section>

      {!provided && (
        <section className="card" aria-labelledby="kb-add-title">
          <header className="card-header">
            <h2 id="kb-add-title">{t("detail.addTitle")}</h2>
            <span className="muted">{t("detail.addIntro")}</span>
          </header>
          <Uploader knowledgeBaseId={base.id} onUploaded={() => void refresh()} />
          <div className="kb-paste-toggle">
            <button type="button" className="btn btn-sm" aria-expanded={pasting} aria-controls="kb-paste" onClick={() => setPasting((v) => !v)}>
              <PasteIcon size={15} />
              <span>{pasting ? t("detail.hidePaste") : t("detail.paste")}</span>
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
          <h2 id="kb-docs-title">{t("detail.docsTitle")}</h2>
          <span className="muted">{documents.data ? t("documents", { count: documents.data.items.length }) : ""}</span>
        </header>
        {documents.isPending && <p className="panel-empty">{t("detail.loadingDocs")}</p>}
        {documents.isError && (
          <p className="panel-empty" role="alert">
            {errorMessage(documents.error)}
          </p>
        )}
        {documents.data && documents.data.items.length === 0 && (
          <p className="panel-empty">{provided ? t("detail.noDocs") : t("detail.noDocsYet")}</p>
        )}
        {documents.data && documents.data.items.length > 0 && (
          <div className="table-wrap">
            <table className="data-table stack kb-docs">
              <thead>
                <tr>
                  <th scope="col">{t("detail.colTitle")}</th>
                  <th scope="col" className="num">
                    {t("detail.colChunks")}
                  </th>
                  <th scope="col">{t("detail.colStatus")}</th>
                  <th scope="col">{t("detail.colType")}</th>
                  <th scope="col" className="num">
                    {t("detail.colSize")}
                  </th>
                  <th scope="col">{t("detail.colAdded")}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t("detail.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {documents.data.items.map((d) => (
                  <tr key={d.id} data-document-id={d.id}>
                    <td className="col-title">
                      <span className="kb-doc-title">{d.title}</span>
                    </td>
                    <td className="num" data-label={t("detail.colChunks")} data-testid="chunk-count">
                      {format.number(d.chunkCount)}
                    </td>
                    <td data-label={t("detail.colStatus")}>
                      <span className="badge badge-ok">{d.status === "ready" ? t("detail.ready") : d.status}</span>
                    </td>
                    <td data-label={t("detail.colType")}>{mimeLabel(d.mimeType) ?? t("detail.typeText")}</td>
                    <td className="num" data-label={t("detail.colSize")}>
                      {formatBytes(d.sizeBytes)}
                    </td>
                    <td data-label={t("detail.colAdded")} title={fullDate(d.createdAt)}>
                      {shortDate(d.createdAt)}
                    </td>
                    <td className="col-actions">
                      {canDeleteDoc(d) && (
                        <button type="button" className="icon-btn icon-btn-sm" aria-label={t("detail.deleteDoc", { title: d.title })} title={tc("delete")} onClick={() => setDeletingDoc(d)}>
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
        title={t("detail.editBase", { name: base.name })}
        initial={{ name: base.name, description: base.description }}
        submitLabel={tc("save")}
        busyLabel={tc("saving")}
        busy={update.isPending}
        error={update.error ? errorMessage(update.error) : undefined}
        onCancel={() => {
          setEditing(false);
          update.reset();
        }}
        onSubmit={(values) => void (async () => {
          try {
            await update.mutateAsync({ id: base.id, ...values });
            await queryClient.invalidateQueries({ queryKey: trpc.knowledge.bases.list.queryKey() });
            setEditing(false);
            update.reset();
          } catch {
            /* shown in the dialog */
          }
        })()}
      />

      <ConfirmDialog
        open={confirmDelete}
        title={t("detail.deleteBaseTitle")}
        confirmLabel={t("detail.deleteBaseConfirm")}
        busy={remove.isPending}
        error={remove.error ? errorMessage(remove.error) : undefined}
        onCancel={() => {
          setConfirmDelete(false);
          remove.reset();
        }}
        onConfirm={() => void (async () => {
          try {
            await remove.mutateAsync({ id: base.id });
            setConfirmDelete(false);
            queryClient.setQueryData(trpc.knowledge.bases.list.queryKey(), (old) => (old ? { items: old.items.filter((b) => b.id !== base.id) } : old));
            onDeleted();
            void queryClient.invalidateQueries({ queryKey: trpc.knowledge.bases.list.queryKey() });
          } catch {
            /* shown in the dialog */
          }
        })()}
      >
        <p>
          {t.rich("detail.deleteBaseBody", {
            name: base.name,
            documents: t("documents", { count: base.documentCount }),
            chunks: t("chunks", { count: base.chunkCount }),
            strong: (chunk) => <strong>{chunk}</strong>,
          })}
        </p>
      </ConfirmDialog>

      <ConfirmDialog
        open={deletingDoc !== null}
        title={t("detail.deleteDocTitle")}
        confirmLabel={t("detail.deleteDocConfirm")}
        busy={removeDoc.isPending}
        error={removeDoc.error ? errorMessage(removeDoc.error) : undefined}
        onCancel={() => {
          setDeletingDoc(null);
          removeDoc.reset();
        }}
        onConfirm={() => void (async () => {
          if (!deletingDoc) return;
          try {
            await removeDoc.mutateAsync({ id: deletingDoc.id });
            setDeletingDoc(null);
            await refresh();
          } catch {
            /* shown in the dialog */
          }
        })()}
      >
        <p>
          {t.rich("detail.deleteDocBody", {
            title: deletingDoc?.title ?? "",
            chunks: t("chunks", { count: deletingDoc?.chunkCount ?? 0 }),
            base: base.name,
            strong: (chunk) => <strong>{chunk}</strong>,
          })}
        </p>
      </ConfirmDialog>
    </div>
  );
}
