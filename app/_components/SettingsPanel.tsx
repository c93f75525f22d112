"use client";
import { useEffect } from "react";
import { errorMessage } from "./errors";
import { CloseIcon } from "./icons";
import { KnowledgeFieldset } from "./knowledge/SessionKnowledge";
import { aboutFields, fieldId, GROUPS, limitText, type FieldDef } from "./settingsForm";
import { useSettingsForm } from "./useSettingsForm";

export function SettingsPanel({ sessionId, onClose }: { sessionId: string; onClose: () => void }) {
  const form = useSettingsForm(sessionId);
  const { session, values, errors } = form;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

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
        <form
          className="settings-form"
          onSubmit={(e) => {
            e.preventDefault();
            void form.submit();
          }}
          noValidate
        >
          <fieldset>
            <legend>About this chat</legend>
            <div className={`field ${errors.title ? "has-error" : ""}`}>
              <label htmlFor="field-title">{aboutFields.title.label}</label>
              <div className="field-row">
                <input
                  id="field-title"
                  value={String(values.title)}
                  maxLength={aboutFields.title.maxLength}
                  onChange={(e) => form.set("title", e.target.value)}
                  aria-invalid={Boolean(errors.title) || undefined}
                  aria-describedby="hint-title"
                />
                <button
                  type="button"
                  className="btn btn-sm"
                  disabled={form.generatingTitle}
                  onClick={() => void form.generateTitle()}
                >
                  {form.generatingTitle ? "Generating…" : "Generate"}
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
                onChange={(e) => form.set("description", e.target.value)}
                aria-invalid={Boolean(errors.description) || undefined}
                aria-describedby="hint-description"
              />
              <p className="field-hint" id="hint-description">
                {errors.description ?? lengthHint(aboutFields.description.maxLength)}
              </p>
            </div>
          </fieldset>

          <KnowledgeFieldset
            bases={form.bases.data?.items}
            error={form.bases.error}
            selected={form.knowledge}
            onChange={form.chooseKnowledge}
            fieldError={errors.knowledgeBaseId ?? errors.agentConfig ?? Object.entries(errors).find(([k]) => k.startsWith("agentConfig."))?.[1]}
          />

          {GROUPS.map((g) => (
            <fieldset key={g.key}>
              <legend>
                {g.title}
                <button type="button" className="link-btn" onClick={() => form.resetGroup(g)}>
                  Reset to defaults
                </button>
              </legend>
              {g.fields.map((f) => (
                <Field key={f.key} field={f} value={values[fieldId(f)]} error={errors[fieldId(f)]} onChange={(v) => form.set(fieldId(f), v)} />
              ))}
            </fieldset>
          ))}

          <div className="settings-actions">
            {form.saveError && !Object.keys(errors).length && (
              <p className="form-error" role="alert">
                {form.saveError}
              </p>
            )}
            {Object.keys(errors).length > 0 && (
              <p className="form-error" role="alert">
                Fix the {Object.keys(errors).length === 1 ? "field" : `${Object.keys(errors).length} fields`} marked in red.
              </p>
            )}
            {form.saved && !form.dirty && (
              <p className="form-ok" role="status">
                Saved.
              </p>
            )}
            <button type="button" className="btn" onClick={onClose}>
              Close
            </button>
            <button type="submit" className="btn btn-primary" disabled={form.saving || !form.dirty}>
              {form.saving ? "Saving…" : "Save"}
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
