"use client";
import { useTranslations } from "next-intl";
import { useEffect, useState, type FormEvent } from "react";
import { Modal } from "../Dialog";

/** Create or edit a knowledge base: its name (1–100 characters) and an optional description. */
export function BaseFormDialog({
  open,
  title,
  initial,
  submitLabel,
  busyLabel,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  open: boolean;
  title: string;
  initial?: { name: string; description: string };
  submitLabel: string;
  busyLabel: string;
  busy: boolean;
  error?: string;
  onSubmit: (values: { name: string; description: string }) => void;
  onCancel: () => void;
}) {
  const t = useTranslations();
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  useEffect(() => {
    if (open) {
      setName(initial?.name ?? "");
      setDescription(initial?.description ?? "");
    }
    // Only when it opens: what is typed is kept while it stays open.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim() || busy) return;
    onSubmit({ name: name.trim(), description: description.trim() });
  };

  return (
    <Modal
      open={open}
      title={title}
      onClose={onCancel}
      footer={
        <>
          <button type="button" className="btn" onClick={onCancel}>
            {t("common.cancel")}
          </button>
          <button type="submit" form="kb-base-form" className="btn btn-primary" disabled={busy || !name.trim()}>
            {busy ? busyLabel : submitLabel}
          </button>
        </>
      }
    >
      <form id="kb-base-form" className="kb-base-form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="kb-base-name">{t("knowledge.form.name")}</label>
          <input
            id="kb-base-name"
            value={name}
            maxLength={100}
            required
            autoFocus
            onChange={(e) => setName(e.target.value)}
            placeholder={t("knowledge.form.namePlaceholder")}
            aria-describedby="kb-base-name-hint"
          />
          <p className="field-hint" id="kb-base-name-hint">
            {t("knowledge.form.nameHint", { max: 100 })}
          </p>
        </div>
        <div className="field">
          <label htmlFor="kb-base-description">{t("knowledge.form.description")}</label>
          <textarea
            id="kb-base-description"
            rows={3}
            value={description}
            maxLength={2000}
            onChange={(e) => setDescription(e.target.value)}
            placeholder={t("knowledge.form.descriptionPlaceholder")}
            aria-describedby="kb-base-description-hint"
          />
          <p className="field-hint" id="kb-base-description-hint">
            {t("knowledge.form.descriptionHint", { max: 2000 })}
          </p>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Modal>
  );
}
