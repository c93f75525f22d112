"use client";
import { useTranslations } from "next-intl";
import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useState, type FormEvent } from "react";
import { defaultStrategy } from "@/common/settings";
import { errorMessage } from "../errors";
import { Highlight } from "../Highlight";
import { SearchIcon } from "../icons";
import { useTRPC } from "../trpc";
import { useDebounced } from "../util";
import { FileIcon } from "./icons";
import { highlightQuery, snippet, type KnowledgeBase, type SearchItem } from "./knowledge";

const DEFAULTS = defaultStrategy();
const fmt = (n: number) => n.toFixed(2);

/**
 * A search of this base (and any others ticked) through `knowledge.search`, with the default
 * retrieval settings: each chunk returned with its document, the query's words highlighted, how
 * it matched and its scores against the thresholds, so one sees what retrieval returns and why.
 */
export function SearchPanel({ base, bases }: { base: KnowledgeBase; bases: KnowledgeBase[] }) {
  const t = useTranslations("knowledge");
  const trpc = useTRPC();
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [scope, setScope] = useState<string[]>([base.id]);
  const debounced = useDebounced(text.trim(), 450);
  useEffect(() => setQuery(debounced), [debounced]);
  // Bases deleted since they were ticked drop out of the scope.
  const ids = useMemo(() => scope.filter((id) => bases.some((b) => b.id === id)), [scope, bases]);
  const names = useMemo(() => new Map(bases.map((b) => [b.id, b.name])), [bases]);

  const ready = query.length >= 2 && ids.length > 0;
  const search = useQuery({
    ...trpc.knowledge.search.queryOptions(ready ? { knowledgeBaseIds: ids, query } : skipToken),
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQuery(text.trim());
  };

  const others = bases.filter((b) => b.id !== base.id);
  const items = ready ? search.data?.items : undefined;

  return (
    <section className="card kb-search" aria-labelledby="kb-search-title">
      <header className="card-header">
        <h2 id="kb-search-title">{t("search.title")}</h2>
        <span className="muted">{t("search.intro")}</span>
      </header>
      <form className="kb-search-form" role="search" onSubmit={submit}>
        <div className="input-with-icon">
          <SearchIcon className="search-icon" />
          <input
            type="search"
            aria-label={t("search.label")}
            placeholder={t("search.placeholder")}
            value={text}
            maxLength={2000}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
        <button type="submit" className="btn btn-primary" disabled={text.trim().length < 2 || ids.length === 0}>
          {t("search.submit")}
        </button>
      </form>

      {others.length > 0 && (
        <fieldset className="kb-scope">
          <legend>{t("search.scope")}</legend>
          <div className="kb-chips">
          {[base, ...others].map((b) => (
            <label key={b.id} className={`kb-chip ${ids.includes(b.id) ? "is-on" : ""}`}>
              <input
                type="checkbox"
                checked={ids.includes(b.id)}
                onChange={(e) => setScope((prev) => (e.target.checked ? [...prev, b.id] : prev.filter((id) => id !== b.id)))}
              />
              <span>{b.name}</span>
            </label>
          ))}
          </div>
        </fieldset>
      )}

      <p className="kb-thresholds">
        {t("search.thresholds", {
          keyword: DEFAULTS.keywordThreshold,
          vector: DEFAULTS.vectorThreshold,
          topK: DEFAULTS.embeddingTopK,
          rerankTopK: DEFAULTS.rerankTopK,
          rerank: DEFAULTS.rerankThreshold,
        })}
      </p>

      <div className="kb-results-wrap" aria-live="polite" aria-busy={search.isFetching || undefined}>
        {ids.length === 0 && <p className="kb-empty">{t("search.tickOne")}</p>}
        {ready && search.isPending && <p className="kb-empty">{t("search.searching")}</p>}
        {ready && search.isError && (
          <p className="form-error" role="alert">
            {errorMessage(search.error)}
          </p>
        )}
        {items && items.length === 0 && !search.isPlaceholderData && (
          <div className="kb-empty kb-no-results" role="status">
            <p>
              <strong>{t("search.nothing", { query })}</strong>
            </p>
            <p>
              {t("search.nothingWhy", { keyword: DEFAULTS.keywordThreshold, vector: DEFAULTS.vectorThreshold, rerank: DEFAULTS.rerankThreshold })}
            </p>
          </div>
        )}
        {items && items.length > 0 && (
          <>
            <p className="muted kb-results-count">
              {t("search.returned", { chunks: t("chunks", { count: items.length }) })}
              {ids.length > 1 ? t("search.fromBases", { count: ids.length }) : ""}
              {t("search.bestFirst")}
              {search.isFetching ? t("search.updating") : ""}
            </p>
            <ol className="kb-results" aria-label={t("search.results")}>
              {items.map((item, i) => (
                <Result key={item.id} n={i + 1} item={item} query={query} baseName={ids.length > 1 ? names.get(item.knowledgeBaseId) : undefined} />
              ))}
            </ol>
          </>
        )}
      </div>
    </section>
  );
}

function Result({ n, item, query, baseName }: { n: number; item: SearchItem; query: string; baseName?: string }) {
  const t = useTranslations("knowledge.search");
  const [open, setOpen] = useState(false);
  const terms = highlightQuery(query);
  const short = snippet(item.content, query);
  const id = useId();
  const heading = item.title !== item.source ? item.title : "";
  const keywordUsed = item.matchedBy !== "vector";
  const vectorUsed = item.matchedBy !== "keyword";
  return (
    <li className="kb-result" data-matched-by={item.matchedBy} aria-labelledby={`${id}-title`}>
      <div className="kb-result-head">
        <span className="source-n" aria-hidden="true">
          {n}
        </span>
        <p className="kb-result-title" id={`${id}-title`}>
          <span className="kb-result-source">
            <FileIcon size={15} className="kb-result-icon" />
            {item.source}
          </span>
          {heading && <span className="kb-result-heading"> › {heading}</span>}
          {baseName && <span className="kb-result-base">{t("inBase", { name: baseName })}</span>}
        </p>
        <span className="kb-match" role="group" aria-label={t("matchedBy", { how: t(item.matchedBy === "both" ? "keywordAndVector" : item.matchedBy) })}>
          {keywordUsed && (
            <span className="badge kb-badge-keyword" title={t("keywordTitle")}>
              {t("keyword")}
            </span>
          )}
          {vectorUsed && (
            <span className="badge kb-badge-vector" title={t("vectorTitle")}>
              {t("vector")}
            </span>
          )}
        </span>
      </div>
      <p className="kb-snippet" id={`${id}-text`}>
        <Highlight text={open ? item.content : short.text} query={terms} />
      </p>
      {short.cut && (
        <button type="button" className="link-btn kb-more" aria-expanded={open} aria-controls={`${id}-text`} onClick={() => setOpen((v) => !v)}>
          {open ? t("showLess") : t("showAll")}
        </button>
      )}
      <dl className="kb-scores">
        <Score label={t("scoreKeyword")} value={item.scores.keyword} threshold={DEFAULTS.keywordThreshold} used={keywordUsed} />
        <Score label={t("scoreVector")} value={item.scores.vector} threshold={DEFAULTS.vectorThreshold} used={vectorUsed} />
        <Score label={t("scoreRerank")} value={item.scores.rerank} threshold={DEFAULTS.rerankThreshold} used final />
      </dl>
    </li>
  );
}

/** One score on a 0–1 bar, with a tick where its threshold is; faint when that search did not count it. */
function Score({ label, value, threshold, used, final }: { label: string; value: number | null; threshold: number; used: boolean; final?: boolean }) {
  const t = useTranslations("knowledge.search");
  const text = value === null ? t("na") : fmt(value);
  const explain =
    value === null
      ? t("notAvailable", { label })
      : `${t("score", { label, value: fmt(value), threshold })}${final ? "" : used ? t("counted") : t("notCounted")}`;
  return (
    <div className={`kb-score ${used ? "is-used" : "is-unused"} ${final ? "is-final" : ""}`} title={explain}>
      <dt>{label}</dt>
      <dd>
        <span className="kb-score-bar" aria-hidden="true">
          <span className="kb-score-fill" style={{ width: `${Math.round((value ?? 0) * 100)}%` }} />
          <span className="kb-score-tick" style={{ left: `${threshold * 100}%` }} />
        </span>
        <span className="kb-score-value" aria-hidden="true">
          {text}
        </span>
        <span className="visually-hidden">{explain}</span>
      </dd>
    </div>
  );
}
