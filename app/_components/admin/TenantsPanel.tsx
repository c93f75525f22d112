"use client";
import { useTranslations } from "next-intl";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../errors";
import { useTRPC } from "../trpc";
import { KeyReveal } from "./KeyReveal";

/** The owner of `default` creates further tenants; each comes with an owner and a first key. */
export function TenantsPanel() {
  const t = useTranslations("admin.tenants");
  const tc = useTranslations("common");
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ tenant: string; key: string }[]>([]);
  const create = useMutation(trpc.admin.tenants.create.mutationOptions());
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    try {
      const res = await create.mutateAsync({ name: name.trim() });
      setCreated((prev) => [{ tenant: res.tenant.name, key: res.apiKey }, ...prev]);
      setName("");
    } catch {
      /* shown below */
    }
  };
  return (
    <div className="admin-users">
      {created.map((c) => (
        <KeyReveal
          key={c.key}
          title={t("ownerKey", { tenant: c.tenant })}
          apiKey={c.key}
          onDone={() => setCreated((prev) => prev.filter((p) => p.key !== c.key))}
        />
      ))}
      <section className="card" aria-labelledby="tenants-title">
        <header className="card-header">
          <h2 id="tenants-title">{t("title")}</h2>
          <span className="muted">{t("intro")}</span>
        </header>
        <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("createTenant")}>
          <div className="field">
            <label htmlFor="new-tenant-name">{t("name")}</label>
            <input id="new-tenant-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder={t("namePlaceholder")} />
          </div>
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? tc("creating") : t("create")}
          </button>
        </form>
        {create.isError && (
          <p className="form-error" role="alert">
            {errorMessage(create.error)}
          </p>
        )}
      </section>
    </div>
  );
}
