"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslations } from "next-intl";
import { useEffect, useState, type FormEvent } from "react";
import { errorMessage } from "../errors";
import { useTRPC, type RouterOutputs } from "../trpc";
import { MAX_RETENTION_DAYS, retentionDaysOf } from "./retention";

type TenantSettings = RouterOutputs["admin"]["tenant"]["get"];

/** The tenant's rules for its chats: how long idle ones are kept (pinned ones too or not), and whether links may share them. */
export function TenantSettingsPanel() {
  const t = useTranslations("admin.settings");
  const tc = useTranslations("common");
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const current = useQuery(trpc.admin.tenant.get.queryOptions());
  const [days, setDays] = useState("");
  const [keepPinned, setKeepPinned] = useState(true);
  const [sharingEnabled, setSharingEnabled] = useState(true);
  const [invalid, setInvalid] = useState(false);
  const [saved, setSaved] = useState(false);

  const fill = (s: TenantSettings) => {
    setDays(s.retentionDays === null ? "" : String(s.retentionDays));
    setKeepPinned(s.keepPinned);
    setSharingEnabled(s.sharingEnabled);
  };
  useEffect(() => {
    if (current.data) fill(current.data);
  }, [current.data]);

  const update = useMutation(
    trpc.admin.tenant.update.mutationOptions({
      onSuccess: (s) => {
        queryClient.setQueryData(trpc.admin.tenant.get.queryKey(), s);
        setSaved(true);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const retentionDays = retentionDaysOf(days);
    setInvalid(retentionDays === undefined);
    setSaved(false);
    if (retentionDays !== undefined) update.mutate({ retentionDays, keepPinned, sharingEnabled });
  };
  const edited = () => setSaved(false);

  if (current.isPending) return <p className="panel-empty">{tc("loading")}</p>;
  if (current.isError)
    return (
      <p className="panel-empty" role="alert">
        {errorMessage(current.error)}
      </p>
    );
  return (
    <form className="admin-users tenant-settings" onSubmit={submit} noValidate>
      <section className="card" aria-labelledby="retention-title">
        <header className="card-header">
          <h2 id="retention-title">{t("retentionTitle")}</h2>
          <span className="muted">{t("retentionIntro")}</span>
        </header>
        <div className={`field ${invalid ? "has-error" : ""}`}>
          <label htmlFor="retention-days">{t("retentionDays")}</label>
          <input
            id="retention-days"
            className="retention-input"
            inputMode="decimal"
            value={days}
            placeholder={t("forever")}
            aria-invalid={invalid || undefined}
            aria-describedby="retention-hint"
            onChange={(e) => {
              setDays(e.target.value);
              setInvalid(false);
              edited();
            }}
          />
          <p className="field-hint" id="retention-hint" role={invalid ? "alert" : undefined}>
            {invalid ? t("retentionInvalid", { max: MAX_RETENTION_DAYS }) : t("retentionHint")}
          </p>
        </div>
        <CheckField
          id="keep-pinned"
          label={t("keepPinned")}
          hint={t("keepPinnedHint")}
          checked={keepPinned}
          onChange={(checked) => {
            setKeepPinned(checked);
            edited();
          }}
        />
      </section>

      <section className="card" aria-labelledby="sharing-title">
        <header className="card-header">
          <h2 id="sharing-title">{t("sharingTitle")}</h2>
        </header>
        <CheckField
          id="sharing-enabled"
          label={t("sharingEnabled")}
          hint={t("sharingHint")}
          checked={sharingEnabled}
          onChange={(checked) => {
            setSharingEnabled(checked);
            edited();
          }}
        />
      </section>

      <div className="tenant-settings-actions">
        {update.isError && (
          <p className="form-error" role="alert">
            {errorMessage(update.error)}
          </p>
        )}
        {saved && (
          <p className="form-ok" role="status">
            {t("saved")}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={update.isPending}>
          {update.isPending ? tc("saving") : tc("save")}
        </button>
      </div>
    </form>
  );
}

/** A checkbox with its label and a hint below. */
function CheckField(props: { id: string; label: string; hint: string; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <div className="field field-check">
      <label htmlFor={props.id}>
        <input id={props.id} type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} />
        <span>{props.label}</span>
      </label>
      <p className="field-hint">{props.hint}</p>
    </div>
  );
}
