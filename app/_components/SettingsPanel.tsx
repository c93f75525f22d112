"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import {
  contextConfigSchema,
  defaultContextConfig,
  defaultStrategy,
  defaultSummaryParameters,
  sessionInputSchema,
  strategySchema,
  summaryParametersSchema,
} from "@/server/defaults";
import { errorMessage } from "./errors";
import { CloseIcon } from "./icons";
import { KnowledgeFieldset, sessionBaseIds, sessionKnowledgeInput } from "./knowledge/SessionKnowledge";
import { useSessionCache } from "./sessionCache";
import { useTRPC, type Session } from "./trpc";

type GroupKey = "strategy" | "summaryParameters" | "contextConfig";

interface FieldDef {
  group: GroupKey;
  key: string;
  label: string;
  help?: string;
  kind: "int" | "number" | "boolean" | "enum" | "text" | "textarea" | "nullable";
  min?: number;
  max?: number;
  maxLength?: number;
  options?: string[];
  step?: number;
  defaultValue: unknown;
}

const LABELS: Record<string, { label: string; help?: string; textarea?: boolean; step?: number }> = {
  maxRounds: { label: "Conversation rounds", help: "How many earlier turns the model sees." },
  enableRewrite: { label: "Rewrite follow-up questions", help: "Turn “and that?” into a standalone question before searching." },
  fallbackStrategy: { label: "When no source matches", help: "fixed: reply with the text below; model: the model answers and says it found no source." },
  fallbackResponse: { label: "Fallback reply", textarea: true },
  keywordThreshold: { label: "Keyword threshold", step: 0.05 },
  vectorThreshold: { label: "Vector threshold", step: 0.05 },
  embeddingTopK: { label: "Candidates per search (top K)" },
  rerankModelId: { label: "Rerank model", help: "Empty: no rerank model." },
  rerankTopK: { label: "Sources kept after rerank" },
  rerankThreshold: { label: "Rerank threshold", step: 0.05 },
  summaryModelId: { label: "Summary model", help: "Empty: the chat model." },
  temperature: { label: "Temperature", step: 0.1 },
  maxCompletionTokens: { label: "Max answer tokens" },
  repeatPenalty: { label: "Repeat penalty", step: 0.1 },
  topK: { label: "Top K", help: "0: off." },
  topP: { label: "Top P", help: "0: off.", step: 0.05 },
  frequencyPenalty: { label: "Frequency penalty", step: 0.1 },
  presencePenalty: { label: "Presence penalty", step: 0.1 },
  seed: { label: "Seed", help: "0: random." },
  prompt: { label: "System prompt", textarea: true },
  contextTemplate: { label: "Context template", textarea: true, help: "How sources are put before the question." },
  noMatchPrefix: { label: "No-match prefix", textarea: true },
  maxTokens: { label: "Context budget (tokens)" },
  compressionStrategy: { label: "Compression", help: "sliding_window keeps recent messages; smart summarises older ones." },
  recentMessageCount: { label: "Recent messages kept" },
  summarizeThreshold: { label: "Summarise after (dropped messages)" },
};

type AnySchema = { def: { type: string }; unwrap?: () => AnySchema } & Record<string, unknown>;

/** Field types, limits and defaults, read from the same zod schemas the server validates with. */
function fieldsOf(group: GroupKey, schema: { shape: Record<string, unknown> }, defaults: Record<string, unknown>): FieldDef[] {
  return Object.entries(schema.shape).map(([key, raw]) => {
    let inner = (raw as AnySchema).unwrap!();
    const meta = LABELS[key] ?? { label: key };
    const base = { group, key, label: meta.label, help: meta.help, defaultValue: defaults[key], step: meta.step };
    if (inner.def.type === "nullable") {
      inner = inner.unwrap!();
      return { ...base, kind: "nullable", maxLength: (inner.maxLength as number | null) ?? undefined };
    }
    switch (inner.def.type) {
      case "number": {
        const isInt = Boolean(inner.isInt);
        const max = inner.maxValue as number;
        return {
          ...base,
          kind: isInt ? "int" : "number",
          min: inner.minValue as number,
          max: max >= Number.MAX_SAFE_INTEGER ? undefined : max,
        };
      }
      case "boolean":
        return { ...base, kind: "boolean" };
      case "enum":
        return { ...base, kind: "enum", options: inner.options as string[] };
      default:
        return { ...base, kind: meta.textarea ? "textarea" : "text", maxLength: (inner.maxLength as number | null) ?? undefined };
    }
  });
}

const GROUPS: { key: GroupKey; title: string; fields: FieldDef[] }[] = [
  { key: "strategy", title: "Retrieval strategy", fields: fieldsOf("strategy", strategySchema, defaultStrategy()) },
  { key: "summaryParameters", title: "Model parameters", fields: fieldsOf("summaryParameters", summaryParametersSchema, defaultSummaryParameters()) },
  { key: "contextConfig", title: "Context", fields: fieldsOf("contextConfig", contextConfigSchema, defaultContextConfig()) },
];

type FormValues = Record<string, string | boolean>;
const fieldId = (f: FieldDef) => `${f.group}.${f.key}`;

function toForm(session: Session): FormValues {
  const values: FormValues = { title: session.title, description: session.description };
  for (const g of GROUPS) {
    const current = (session[g.key] ?? {}) as Record<string, unknown>;
    for (const f of g.fields) {
      const v = current[f.key] ?? f.defaultValue;
      values[fieldId(f)] = f.kind === "boolean" ? Boolean(v) : v === null || v === undefined ? "" : String(v);
    }
  }
  return values;
}

/** Form strings to typed values; what cannot be a number stays a string so zod names the field. */
function fromForm(values: FormValues) {
  const out: Record<string, Record<string, unknown>> = { strategy: {}, summaryParameters: {}, contextConfig: {} };
  for (const g of GROUPS) {
    for (const f of g.fields) {
      const v = values[fieldId(f)];
      let typed: unknown = v;
      if (f.kind === "int" || f.kind === "number") typed = typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
      else if (f.kind === "nullable") typed = typeof v === "string" && v.trim() === "" ? null : v;
      out[g.key][f.key] = typed;
    }
  }
  return {
    title: String(values.title),
    description: String(values.description),
    strategy: out.strategy,
    summaryParameters: out.summaryParameters,
    contextConfig: out.contextConfig,
  };
}

/** zod's issue, in the words a settings form would use. */
function friendlyIssue(issue: { code: string; message: string; maximum?: unknown; minimum?: unknown; expected?: unknown; origin?: unknown }): string {
  if (issue.code === "too_big") return issue.origin === "string" ? `At most ${String(issue.maximum)} characters` : `At most ${String(issue.maximum)}`;
  if (issue.code === "too_small") return issue.origin === "string" ? `At least ${String(issue.minimum)} characters` : `At least ${String(issue.minimum)}`;
  if (issue.code === "invalid_type" && issue.expected === "number") return "Enter a number";
  if (issue.code === "invalid_type" && issue.expected === "int") return "Enter a whole number";
  return issue.message;
}

function limitText(f: FieldDef): string {
  const parts: string[] = [];
  if (f.kind === "int" || f.kind === "number") {
    if (f.min !== undefined && f.max !== undefined) parts.push(`${f.min}–${f.max}`);
    else if (f.min !== undefined) parts.push(`≥ ${f.min}`);
  }
  if ((f.kind === "text" || f.kind === "textarea" || f.kind === "nullable") && f.maxLength) parts.push(`≤ ${f.maxLength.toLocaleString()} chars`);
  const d = f.defaultValue;
  parts.push(`default ${d === null ? "none" : d === "" ? "empty" : typeof d === "boolean" ? (d ? "on" : "off") : String(d)}`);
  return parts.join(" · ");
}

export function SettingsPanel({ sessionId, onClose }: { sessionId: string; onClose: () => void }) {
  const trpc = useTRPC();
  const cache = useSessionCache();
  const session = useQuery(trpc.session.get.queryOptions({ id: sessionId }));
  const [values, setValues] = useState<FormValues | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const update = useMutation(trpc.session.update.mutationOptions());
  const generateTitle = useMutation(trpc.session.generateTitle.mutationOptions());
  // The bases this chat answers from: knowledgeBaseId first, then agentConfig.knowledgeBases.
  const bases = useQuery(trpc.knowledge.bases.list.queryOptions());
  const knownBases = useMemo(() => (bases.data ? new Set(bases.data.items.map((b) => b.id)) : null), [bases.data]);
  const [knowledge, setKnowledge] = useState<string[]>([]);

  useEffect(() => {
    if (session.data && values === null) {
      setValues(toForm(session.data));
      setKnowledge(sessionBaseIds(session.data));
    }
  }, [session.data, values]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const set = (id: string, v: string | boolean) => {
    setValues((prev) => ({ ...prev!, [id]: v }));
    setSaved(false);
    if (errors[id]) setErrors(({ [id]: _, ...rest }) => rest);
  };

  const knowledgeDirty = useMemo(() => {
    if (!session.data || !knownBases) return false;
    const known = (ids: string[]) => ids.filter((id) => knownBases.has(id));
    return JSON.stringify(known(knowledge)) !== JSON.stringify(known(sessionBaseIds(session.data)));
  }, [knowledge, knownBases, session.data]);
  const dirty = useMemo(
    () => (values !== null && session.data !== undefined && JSON.stringify(values) !== JSON.stringify(toForm(session.data))) || knowledgeDirty,
    [values, session.data, knowledgeDirty],
  );

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!values) return;
    // Knowledge is sent only once the tenant's bases are known, so a failed list never clears it.
    const input = { ...fromForm(values), ...(knownBases && sessionKnowledgeInput(knowledge, knownBases)) };
    const parsed = sessionInputSchema.safeParse(input);
    if (!parsed.success) {
      const next: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const id = issue.path.join(".");
        next[id] ??= friendlyIssue(issue);
      }
      setErrors(next);
      document.getElementById(`field-${Object.keys(next)[0]}`)?.focus();
      return;
    }
    setErrors({});
    try {
      const s = await update.mutateAsync({ id: sessionId, ...parsed.data });
      cache.patch(s.id, s);
      setValues(toForm(s));
      setKnowledge(sessionBaseIds(s));
      setSaved(true);
    } catch (err) {
      const fieldErrors = (err as { data?: { zodError?: { fieldErrors?: Record<string, string[]> } } }).data?.zodError?.fieldErrors;
      if (fieldErrors) setErrors(Object.fromEntries(Object.entries(fieldErrors).map(([k, v]) => [k, v[0]])));
    }
  };

  const resetGroup = (g: (typeof GROUPS)[number]) => {
    setValues((prev) => {
      const next = { ...prev! };
      for (const f of g.fields) next[fieldId(f)] = f.kind === "boolean" ? Boolean(f.defaultValue) : f.defaultValue === null ? "" : String(f.defaultValue);
      return next;
    });
    setSaved(false);
  };

  return (
    <aside className="settings-panel" role="dialog" aria-modal="false" aria-labelledby="settings-title">
      <header className="settings-header">
        <h2 id="settings-title">Chat settings</h2>
        <button type="button" className="icon-btn" aria-label="Close settings" onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      {session.isPending && <p className="settings-empty">Loading…</p>}
      {session.isError && (
        <p className="settings-empty" role="alert">
          {errorMessage(session.error)}
        </p>
      )}
      {values && (
        <form className="settings-form" onSubmit={submit} noValidate>
          <fieldset>
            <legend>About this chat</legend>
            <div className={`field ${errors.title ? "has-error" : ""}`}>
              <label htmlFor="field-title">Title</label>
              <div className="field-row">
                <input
                  id="field-title"
                  value={String(values.title)}
                  maxLength={300}
                  onChange={(e) => set("title", e.target.value)}
                  aria-invalid={Boolean(errors.title) || undefined}
                  aria-describedby="hint-title"
                />
                <button
                  type="button"
                  className="btn btn-sm"
                  disabled={generateTitle.isPending}
                  onClick={async () => {
                    try {
                      const { title } = await generateTitle.mutateAsync({ id: sessionId });
                      set("title", title);
                      cache.patch(sessionId, { title });
                    } catch (err) {
                      setErrors((prev) => ({ ...prev, title: errorMessage(err) }));
                    }
                  }}
                >
                  {generateTitle.isPending ? "Generating…" : "Generate"}
                </button>
              </div>
              <p className="field-hint" id="hint-title">
                {errors.title ?? "≤ 255 characters"}
              </p>
            </div>
            <div className={`field ${errors.description ? "has-error" : ""}`}>
              <label htmlFor="field-description">Description</label>
              <textarea
                id="field-description"
                rows={2}
                value={String(values.description)}
                onChange={(e) => set("description", e.target.value)}
                aria-invalid={Boolean(errors.description) || undefined}
                aria-describedby="hint-description"
              />
              <p className="field-hint" id="hint-description">
                {errors.description ?? "≤ 2,000 characters"}
              </p>
            </div>
          </fieldset>

          <KnowledgeFieldset
            bases={bases.data?.items}
            error={bases.error}
            selected={knowledge}
            onChange={(ids) => {
              setKnowledge(ids);
              setSaved(false);
              setErrors(({ knowledgeBaseId: _a, agentConfig: _b, ...rest }) => rest);
            }}
            fieldError={errors.knowledgeBaseId ?? errors.agentConfig ?? Object.entries(errors).find(([k]) => k.startsWith("agentConfig."))?.[1]}
          />

          {GROUPS.map((g) => (
            <fieldset key={g.key}>
              <legend>
                {g.title}
                <button type="button" className="link-btn" onClick={() => resetGroup(g)}>
                  Reset to defaults
                </button>
              </legend>
              {g.fields.map((f) => (
                <Field key={f.key} field={f} value={values[fieldId(f)]} error={errors[fieldId(f)]} onChange={(v) => set(fieldId(f), v)} />
              ))}
            </fieldset>
          ))}

          <div className="settings-actions">
            {update.isError && !Object.keys(errors).length && (
              <p className="form-error" role="alert">
                {errorMessage(update.error)}
              </p>
            )}
            {Object.keys(errors).length > 0 && (
              <p className="form-error" role="alert">
                Fix the {Object.keys(errors).length === 1 ? "field" : `${Object.keys(errors).length} fields`} marked in red.
              </p>
            )}
            {saved && !dirty && (
              <p className="form-ok" role="status">
                Saved.
              </p>
            )}
            <button type="button" className="btn" onClick={onClose}>
              Close
            </button>
            <button type="submit" className="btn btn-primary" disabled={update.isPending || !dirty}>
              {update.isPending ? "Saving…" : "Save"}
            </button>
          </div>
        </form>
      )}
    </aside>
  );
}

function Field({ field: f, value, error, onChange }: { field: FieldDef; value: string | boolean; error?: string; onChange: (v: string | boolean) => void }) {
  const id = `field-${fieldId(f)}`;
  const hintId = `hint-${fieldId(f)}`;
  const common = { id, "aria-invalid": Boolean(error) || undefined, "aria-describedby": hintId };
  if (f.kind === "boolean") {
    return (
      <div className="field field-check">
        <label htmlFor={id}>
          <input type="checkbox" {...common} checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} />
          <span>{f.label}</span>
        </label>
        <p className="field-hint" id={hintId}>
          {f.help ? `${f.help} · ` : ""}
          {limitText(f)}
        </p>
      </div>
    );
  }
  let control;
  if (f.kind === "enum") {
    control = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {f.options!.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (f.kind === "textarea") {
    control = <textarea {...common} rows={2} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  } else if (f.kind === "int" || f.kind === "number") {
    control = (
      <input
        {...common}
        type="number"
        inputMode={f.kind === "int" ? "numeric" : "decimal"}
        min={f.min}
        max={f.max}
        step={f.kind === "int" ? 1 : (f.step ?? "any")}
        value={String(value)}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  } else {
    control = <input {...common} type="text" value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label htmlFor={id}>{f.label}</label>
      {control}
      <p className="field-hint" id={hintId}>
        {error ?? (
          <>
            {f.help ? `${f.help} · ` : ""}
            {limitText(f)}
          </>
        )}
      </p>
    </div>
  );
}
