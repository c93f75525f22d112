"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslations } from "next-intl";
import { useRef, useState } from "react";
import { Modal } from "./Dialog";
import { errorCode, errorMessage } from "./errors";
import { CheckIcon, CopyIcon, ShareIcon } from "./icons";
import { useTRPC } from "./trpc";
import { useDates } from "./util";

/**
 * Share links of one chat: a new link is a read-only copy of the chat as it is now, its address
 * shown (and copyable) only here, right after it is made; the chat's live links can be revoked.
 * A temporary chat is never shared, and an organisation may have sharing turned off.
 */
export function ShareDialog({ sessionId, title, temporary, onClose }: { sessionId: string; title: string; temporary: boolean; onClose: () => void }) {
  const t = useTranslations("sharing");
  const { fullDate } = useDates();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.share.list.queryOptions({ sessionId }, { enabled: !temporary }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.share.list.queryKey({ sessionId }) });
  const create = useMutation(trpc.share.create.mutationOptions({ onSuccess: () => void refresh() }));
  const revoke = useMutation(trpc.share.revoke.mutationOptions({ onSettled: () => void refresh() }));
  const [copied, setCopied] = useState(false);
  const [copyBlocked, setCopyBlocked] = useState(false);
  const urlField = useRef<HTMLInputElement>(null);

  const url = create.data?.url ?? null;
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // No clipboard here (an http page, a denied permission): the address is selected for the keyboard's copy.
      urlField.current?.focus();
      urlField.current?.select();
      setCopyBlocked(true);
    }
  };
  const live = (links.data?.items ?? []).filter((s) => !s.revokedAt);
  const createError = create.error ? (errorCode(create.error) === "FORBIDDEN" ? t("sharingOff") : errorMessage(create.error)) : null;

  return (
    <Modal open title={t("title", { title })} onClose={onClose} className="share-dialog">
      {temporary ? (
        <p className="share-note" role="status">
          {t("temporary")}
        </p>
      ) : (
        <>
          <p>{t("intro")}</p>
          {url ? (
            <div className="share-new" role="status">
              <label htmlFor="share-url">{t("newLink")}</label>
              <div className="share-url-row">
                <input id="share-url" ref={urlField} readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
                <button type="button" className="btn btn-sm btn-primary" onClick={() => void copy()}>
                  {copied ? <CheckIcon size={15} /> : <CopyIcon size={15} />}
                  <span>{copied ? t("copied") : t("copy")}</span>
                </button>
              </div>
              <p className="field-hint">{copyBlocked ? t("copyBlocked") : t("onlyNow")}</p>
            </div>
          ) : (
            <button type="button" className="btn btn-primary share-create" onClick={() => create.mutate({ sessionId })} disabled={create.isPending}>
              <ShareIcon size={16} />
              <span>{create.isPending ? t("creating") : t("create")}</span>
            </button>
          )}
          {createError && (
            <p className="share-error" role="alert">
              {createError}
            </p>
          )}

          <h3 className="share-list-title">{t("links")}</h3>
          {links.isPending && <p>{t("loading")}</p>}
          {links.isError && (
            <p className="form-error" role="alert">
              {errorMessage(links.error)}
            </p>
          )}
          {links.isSuccess && live.length === 0 && <p className="muted">{t("noLinks")}</p>}
          {live.length > 0 && (
            <ul className="share-list">
              {live.map((s) => (
                <li key={s.id} className="share-link">
                  <span className="share-link-text">
                    <span>
                      {t("createdOn", { date: fullDate(s.createdAt) })}
                      {s.id === create.data?.id && <span className="badge badge-ok share-this">{t("thisLink")}</span>}
                    </span>
                    <span className="muted">{t("messages", { count: s.messageCount })}</span>
                  </span>
                  <button
                    type="button"
                    className="btn btn-sm btn-danger-outline"
                    aria-label={t("revokeLabel", { date: fullDate(s.createdAt) })}
                    disabled={revoke.isPending && revoke.variables.id === s.id}
                    onClick={() => revoke.mutate({ id: s.id })}
                  >
                    {t("revoke")}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {revoke.isError && (
            <p className="form-error" role="alert">
              {errorMessage(revoke.error)}
            </p>
          )}
        </>
      )}
    </Modal>
  );
}
