"use client";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../errors";
import { useTRPC } from "../trpc";
import { KeyReveal } from "./KeyReveal";

/** The owner of `default` creates further tenants; each comes with an owner and a first key. */
export function TenantsPanel() {
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
          title={`Owner key for tenant “${c.tenant}” (user admin)`}
          apiKey={c.key}
          onDone={() => setCreated((prev) => prev.filter((p) => p.key !== c.key))}
        />
      ))}
      <section className="card" aria-labelledby="tenants-title">
        <header className="card-header">
          <h2 id="tenants-title">Tenants</h2>
          <span className="muted">Each tenant is walled off: its own users, keys and sessions.</span>
        </header>
        <form className="inline-form" onSubmit={submit} aria-label="Create a tenant">
          <div className="field">
            <label htmlFor="new-tenant-name">Tenant name</label>
            <input id="new-tenant-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder="e.g. acme" />
          </div>
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create tenant"}
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
