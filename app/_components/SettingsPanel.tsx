"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { sessionInputSchema } from "@/server/defaults";
import { errorMessage } from "./errors";
import { CloseIcon } from "./icons";
import { KnowledgeFieldset, sessionBaseIds, sessionKnowledgeInput } from "./knowledge/SessionKnowledge";
import { useSessionCache } from "./sessionCache";
import { aboutFields, fieldId, friendlyIssue, fromForm, groupDefaults, GROUPS, limitText, toForm, type FieldDef, type FormValues } from "./settingsForm";
import { useTRPC } from "./trpc";

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
    setValues((prev) => ({ ...prev!, ...groupDefaults(g) }));
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
              <label htmlFor="field-title">{aboutFields.title.label}</label>
              <div className="field-row">
                <input
                  id="field-title"
                  value={String(values.title)}
                  maxLength={aboutFields.title.maxLength}
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
                {errors.title ?? lengthHint(aboutFields.title.maxLength)}
              </p>
            </div>
            <div className={`field ${errors.description ? "has-error" : ""}`}>
              <label htmlFor="field-description">{aboutFields.description.label}</label>
              <textarea
                id="field-description"
                rows={2}
                value={String(values.description)}
                onChange={(e) => set("description", e.target.value)}
                aria-invalid={Boolean(errors.description) || undefined}
                aria-describedby="hint-description"
              />
              <p className="field-hint" id="hint-description">
                {errors.description ?? lengthHint(aboutFields.description.maxLength)}
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

const lengthHint = (maxLength: number | undefined) => (maxLength ? `≤ ${maxLength.toLocaleString()} characters` : "");

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
