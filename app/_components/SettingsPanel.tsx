"use client";
import { useTranslations } from "next-intl";
import { useEffect } from "react";
import { errorMessage } from "./errors";
import { CloseIcon } from "./icons";
import { KnowledgeFieldset } from "./knowledge/SessionKnowledge";
import { aboutFields, fieldId, GROUPS, limitText, type FieldDef, type Say } from "./settingsForm";
import { useSettingsForm } from "./useSettingsForm";

export function SettingsPanel({ sessionId, onClose }: { sessionId: string; onClose: () => void }) {
  const t = useTranslations("settings");
  const tc = useTranslations("common");
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
        <h2 id="settings-title">{t("title")}</h2>
        <button type="button" className="icon-btn" aria-label={t("closeSettings")} onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      {session.isPending && <p className="settings-empty">{tc("loading")}</p>}
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
            <legend>{t("about")}</legend>
            <div className={`field ${errors.title ? "has-error" : ""}`}>
              <label htmlFor="field-title">{t("titleField")}</label>
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
                  {form.generatingTitle ? t("generating") : t("generate")}
                </button>
              </div>
              <p className="field-hint" id="hint-title">
                {errors.title ?? lengthHint(t, aboutFields.title.maxLength)}
              </p>
            </div>
            <div className={`field ${errors.description ? "has-error" : ""}`}>
              <label htmlFor="field-description">{t("descriptionField")}</label>
              <textarea
                id="field-description"
                rows={2}
                value={String(values.description)}
                onChange={(e) => form.set("description", e.target.value)}
                aria-invalid={Boolean(errors.description) || undefined}
                aria-describedby="hint-description"
              />
              <p className="field-hint" id="hint-description">
                {errors.description ?? lengthHint(t, aboutFields.description.maxLength)}
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
                {t(`groups.${g.key}`)}
                <button type="button" className="link-btn" onClick={() => form.resetGroup(g)}>
                  {t("resetGroup")}
                </button>
              </legend>
              {g.fields.map((f) => (
                <Field key={f.key} field={f} value={values[fieldId(f)]! /* toForm fills every field of GROUPS */} error={errors[fieldId(f)]} onChange={(v) => form.set(fieldId(f), v)} />
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
                {t("fixFields", { count: Object.keys(errors).length })}
              </p>
            )}
            {form.saved && !form.dirty && (
              <p className="form-ok" role="status">
                {t("saved")}
              </p>
            )}
            <button type="button" className="btn" onClick={onClose}>
              {tc("close")}
            </button>
            <button type="submit" className="btn btn-primary" disabled={form.saving || !form.dirty}>
              {form.saving ? tc("saving") : tc("save")}
            </button>
          </div>
        </form>
      )}
    </aside>
  );
}

const lengthHint = (t: ReturnType<typeof useTranslations<"settings">>, maxLength: number | undefined) => (maxLength ? t("lengthHint", { max: maxLength }) : "");

/**
 * A field's label and help in the page's language: `settings.fields.<key>` messages where the
 * language has them, else the schema's own (English) `.meta` title and description.
 */
function useFieldText(f: FieldDef) {
  const t = useTranslations("settings");
  const key = (part: "title" | "description") => `fields.${f.key}.${part}` as never;
  const say: Say = (k, values) => t(k as never, values as never);
  return {
    label: t.has(key("title")) ? t(key("title")) : f.label,
    help: f.help && t.has(key("description")) ? t(key("description")) : f.help,
    limits: limitText(f, say),
  };
}

function Field({ field: f, value, error, onChange }: { field: FieldDef; value: string | boolean; error?: string; onChange: (v: string | boolean) => void }) {
  const id = `field-${fieldId(f)}`;
  const hintId = `hint-${fieldId(f)}`;
  const common = { id, "aria-invalid": Boolean(error) || undefined, "aria-describedby": hintId };
  const text = useFieldText(f);
  if (f.kind === "boolean") {
    return (
      <div className="field field-check">
        <label htmlFor={id}>
          <input type="checkbox" {...common} checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} />
          <span>{text.label}</span>
        </label>
        <p className="field-hint" id={hintId}>
          {text.help ? `${text.help} · ` : ""}
          {text.limits}
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
      <label htmlFor={id}>{text.label}</label>
      {control}
      <p className="field-hint" id={hintId}>
        {error ?? (
          <>
            {text.help ? `${text.help} · ` : ""}
            {text.limits}
          </>
        )}
      </p>
    </div>
  );
}
