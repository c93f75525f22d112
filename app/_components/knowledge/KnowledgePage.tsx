"use client";
import { useTranslations } from "next-intl";
import { PageHeader, useSignedInUser } from "../account";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../errors";
import { ChatIcon, PlusIcon, ShieldIcon } from "../icons";
import type { PublicMe } from "../serverAuth";
import { useTRPC } from "../trpc";
import { BaseDetail } from "./BaseDetail";
import { BaseFormDialog } from "./BaseFormDialog";
import { LockIcon } from "./icons";
import { isProvided, type KnowledgeBase } from "./knowledge";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Wide enough for the list and the selected base side by side (matches the CSS breakpoint). */
const SIDE_BY_SIDE = "(min-width: 821px)";

const urlFor = (baseId: string | null) => (baseId ? `/knowledge?base=${baseId}` : "/knowledge");

/**
 * `/knowledge`: the tenant's knowledge bases on the left, the selected one on the right (its
 * documents, uploads and a search that shows what retrieval returns). On a phone the list and
 * the base are two screens, the selection kept in the URL so Back returns to the list.
 */
export function KnowledgePage({ me, initialBaseId }: { me: PublicMe; initialBaseId: string | null }) {
  const t = useTranslations("knowledge");
  const tc = useTranslations("common");
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [selectedId, setSelectedId] = useState<string | null>(initialBaseId && UUID.test(initialBaseId) ? initialBaseId : null);
  const [creating, setCreating] = useState(false);

  useSignedInUser("/knowledge");

  const bases = useQuery(trpc.knowledge.bases.list.queryOptions());
  const items = bases.data?.items;
  const selected = items?.find((b) => b.id === selectedId) ?? null;

  const select = useCallback((id: string | null, push = true) => {
    setSelectedId(id);
    if (push) window.history.pushState(null, "", urlFor(id));
  }, []);

  useEffect(() => {
    const onPop = () => {
      const id = new URLSearchParams(window.location.search).get("base");
      setSelectedId(id && UUID.test(id) ? id : null);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  // Side by side, something is always selected: the first base, or the one asked for if it exists.
  useEffect(() => {
    if (!items) return;
    if (selectedId && !items.some((b) => b.id === selectedId)) {
      const next = window.matchMedia(SIDE_BY_SIDE).matches ? (items[0]?.id ?? null) : null;
      setSelectedId(next);
      window.history.replaceState(null, "", urlFor(next));
    } else if (!selectedId && items[0] && window.matchMedia(SIDE_BY_SIDE).matches) {
      setSelectedId(items[0].id);
      window.history.replaceState(null, "", urlFor(items[0].id));
    }
  }, [items, selectedId]);

  // A file dropped beside the drop area must not make the browser navigate away to it.
  useEffect(() => {
    const stop = (e: DragEvent) => {
      if (e.dataTransfer?.types.includes("Files")) e.preventDefault();
    };
    window.addEventListener("dragover", stop);
    window.addEventListener("drop", stop);
    return () => {
      window.removeEventListener("dragover", stop);
      window.removeEventListener("drop", stop);
    };
  }, []);

  const create = useMutation(trpc.knowledge.bases.create.mutationOptions());

  return (
    <div className="admin-shell kb-shell">
      <PageHeader me={me} badge={t("badge")}>
        <Link href="/" className="btn btn-ghost btn-sm" aria-label={t("chats")}>
          <ChatIcon size={16} />
          <span className="kb-hide-narrow">{t("chats")}</span>
        </Link>
        {me.isAdmin && (
          <Link href="/admin" className="btn btn-ghost btn-sm" aria-label={t("adminDashboard")}>
            <ShieldIcon size={16} />
            <span className="kb-hide-narrow">{t("admin")}</span>
          </Link>
        )}
      </PageHeader>

      <div className={`kb-layout ${selected ? "has-selection" : ""}`}>
        <aside className="kb-sidebar" aria-labelledby="kb-list-title">
          <div className="kb-sidebar-head">
            <h1 id="kb-list-title">{t("bases")}</h1>
            <button type="button" className="btn btn-primary btn-sm" onClick={() => setCreating(true)}>
              <PlusIcon size={16} />
              <span>{t("newBase")}</span>
            </button>
          </div>
          <p className="muted kb-sidebar-intro">{t("intro", { tenant: me.tenant.name })}</p>
          {bases.isPending && <p className="list-empty">{tc("loading")}</p>}
          {bases.isError && (
            <p className="list-empty" role="alert">
              {errorMessage(bases.error)}{" "}
              <button type="button" className="link-btn" onClick={() => void bases.refetch()}>
                {tc("retry")}
              </button>
            </p>
          )}
          {items && items.length === 0 && <p className="list-empty">{t("noBases")}</p>}
          {items && items.length > 0 && (
            <ul className="kb-list" aria-label={t("bases")}>
              {items.map((b) => (
                <BaseListItem key={b.id} base={b} current={b.id === selected?.id} onSelect={() => select(b.id)} />
              ))}
            </ul>
          )}
        </aside>

        <main className="kb-main" aria-label={selected ? selected.name : t("base")}>
          {selected ? (
            <BaseDetail
              key={selected.id}
              me={me}
              base={selected}
              bases={items ?? []}
              onBack={() => select(null)}
              onDeleted={() => {
                const next = window.matchMedia(SIDE_BY_SIDE).matches ? (items?.find((b) => b.id !== selected.id)?.id ?? null) : null;
                select(next, false);
                window.history.replaceState(null, "", urlFor(next));
              }}
            />
          ) : (
            items &&
            items.length > 0 && (
              <div className="panel-empty kb-placeholder">
                <p>{t("selectBase")}</p>
              </div>
            )
          )}
        </main>
      </div>

      <BaseFormDialog
        open={creating}
        title={t("newBaseTitle")}
        submitLabel={t("create")}
        busyLabel={tc("creating")}
        busy={create.isPending}
        error={create.error ? errorMessage(create.error) : undefined}
        onCancel={() => {
          setCreating(false);
          create.reset();
        }}
        onSubmit={(values) => void (async () => {
          try {
            const base = await create.mutateAsync(values);
            queryClient.setQueryData(trpc.knowledge.bases.list.queryKey(), (old) => (old ? { items: [base, ...old.items] } : old));
            void queryClient.invalidateQueries({ queryKey: trpc.knowledge.bases.list.queryKey() });
            setCreating(false);
            create.reset();
            select(base.id);
          } catch {
            /* shown in the dialog */
          }
        })()}
      />
    </div>
  );
}

function BaseListItem({ base, current, onSelect }: { base: KnowledgeBase; current: boolean; onSelect: () => void }) {
  const t = useTranslations("knowledge");
  return (
    <li>
      <button type="button" className={`kb-list-item ${current ? "current" : ""}`} aria-current={current ? "true" : undefined} onClick={onSelect} data-base-id={base.id}>
        <span className="kb-list-name">
          <span className="kb-list-title">{base.name}</span>
          {isProvided(base) && (
            <span className="badge kb-readonly" title={t("providedTitle")}>
              <LockIcon size={11} />
              {t("readOnly")}
            </span>
          )}
        </span>
        {base.description && <span className="kb-list-desc">{base.description}</span>}
        <span className="kb-list-meta">
          {t("documents", { count: base.documentCount })} · {t("chunks", { count: base.chunkCount })}
        </span>
      </button>
    </li>
  );
}
