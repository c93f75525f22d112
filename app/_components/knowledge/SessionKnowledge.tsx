"use client";
import { useTranslations } from "next-intl";
import Link from "next/link";
import { errorMessage } from "../errors";
import { LockIcon } from "./icons";
import { isProvided, type KnowledgeBase } from "./knowledge";

/**
 * Which knowledge bases a chat answers from. The server reads two fields (see
 * server/knowledge/sessionKnowledge.ts): `knowledgeBaseId`, the primary base, and
 * `agentConfig.knowledgeBases`, any further ones; retrieval searches all of them together.
 * Here they are one ordered list: the first is the primary base.
 */
export function sessionBaseIds(session: { knowledgeBaseId: string | null; agentConfig: { knowledgeBases: string[] } }): string[] {
  return [...new Set([session.knowledgeBaseId, ...session.agentConfig.knowledgeBases].filter((id): id is string => Boolean(id)))];
}

/** The session fields for a chosen list, keeping only bases that still exist (the server refuses unknown ones). */
export function sessionKnowledgeInput(ids: string[], known: ReadonlySet<string>) {
  const [primary = null, ...rest] = ids.filter((id) => known.has(id));
  return { knowledgeBaseId: primary, agentConfig: { knowledgeBases: rest } };
}

export function KnowledgeFieldset({
  bases,
  error: loadError,
  selected,
  onChange,
  fieldError,
}: {
  bases: KnowledgeBase[] | undefined;
  error: unknown;
  selected: string[];
  onChange: (ids: string[]) => void;
  fieldError?: string;
}) {
  const t = useTranslations("settings.knowledge");
  const tk = useTranslations("knowledge");
  const chosen = bases ? selected.filter((id) => bases.some((b) => b.id === id)) : [];
  return (
    <fieldset className="kb-session" aria-describedby="hint-knowledge">
      <legend>
        {t("legend")}
        <Link href="/knowledge" className="link-btn">
          {t("manage")}
        </Link>
      </legend>
      {!bases && !loadError && <p className="field-hint">{t("loading")}</p>}
      {loadError ? (
        <p className="form-error" role="alert">
          {errorMessage(loadError)}
        </p>
      ) : null}
      {bases && bases.length === 0 && (
        <p className="field-hint">
          {t.rich("none", { link: (chunk) => <Link href="/knowledge">{chunk}</Link> })}
        </p>
      )}
      {bases && bases.length > 0 && (
        <ul className="kb-session-list">
          {bases.map((b) => {
            const on = chosen.includes(b.id);
            return (
              <li key={b.id}>
                <label className={`kb-session-item ${on ? "is-on" : ""}`}>
                  <input
                    type="checkbox"
                    checked={on}
                    onChange={(e) => onChange(e.target.checked ? [...chosen, b.id] : chosen.filter((id) => id !== b.id))}
                  />
                  <span className="kb-session-text">
                    <span className="kb-session-name">
                      {b.name}
                      {isProvided(b) && (
                        <>
                          <LockIcon size={12} className="kb-session-lock" />
                          <span className="visually-hidden"> {t("provided")}</span>
                        </>
                      )}
                      {on && chosen[0] === b.id && chosen.length > 1 && <span className="badge">{t("primary")}</span>}
                    </span>
                    <span className="kb-session-meta">
                      {tk("documents", { count: b.documentCount })} · {tk("chunks", { count: b.chunkCount })}
                    </span>
                  </span>
                </label>
              </li>
            );
          })}
        </ul>
      )}
      <p className={`field-hint ${fieldError ? "kb-field-error" : ""}`} id="hint-knowledge" role={fieldError ? "alert" : undefined}>
        {fieldError ??
          (bases && bases.length > 0
            ? chosen.length === 0
              ? t("noneTicked")
              : t("searches", { count: chosen.length })
            : "")}
      </p>
    </fieldset>
  );
}
