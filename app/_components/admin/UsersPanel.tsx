"use client";
import { useTranslations } from "next-intl";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import { ConfirmDialog } from "../Dialog";
import { errorMessage } from "../errors";
import type { PublicMe } from "../serverAuth";
import { useTRPC, type RouterOutputs } from "../trpc";
import { useDates } from "../util";
import { KeyReveal } from "./KeyReveal";

type ApiKey = RouterOutputs["admin"]["apiKeys"]["list"]["items"][number];
type Role = "owner" | "admin" | "member";

export function UsersPanel({ me }: { me: PublicMe }) {
  const t = useTranslations("admin");
  const tc = useTranslations("common");
  const tr = useTranslations("account.roles");
  const { shortDate, fullDate } = useDates();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const users = useQuery(trpc.admin.users.list.queryOptions());
  const keys = useQuery(trpc.admin.apiKeys.list.queryOptions({}));
  const userName = useMemo(() => new Map(users.data?.items.map((u) => [u.id, u.name]) ?? []), [users.data]);
  const roles: Role[] = me.user.role === "owner" ? ["member", "admin", "owner"] : ["member"];

  // New user
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [revealed, setRevealed] = useState<{ title: string; key: string } | null>(null);
  const createUser = useMutation(trpc.admin.users.create.mutationOptions());
  const submitUser = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    try {
      const res = await createUser.mutateAsync({ name: name.trim(), role });
      setRevealed({ title: t("users.keyFor", { name: res.user.name, role: tr(res.user.role) }), key: res.apiKey });
      setName("");
      setRole("member");
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.admin.users.pathKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.admin.apiKeys.pathKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.admin.stats.pathKey() }),
      ]);
    } catch {
      /* shown below the form */
    }
  };

  // New key
  const [keyUser, setKeyUser] = useState("");
  const [keyName, setKeyName] = useState("");
  const createKey = useMutation(trpc.admin.apiKeys.create.mutationOptions());
  const submitKey = async (e: FormEvent) => {
    e.preventDefault();
    if (!keyName.trim()) return;
    try {
      const res = await createKey.mutateAsync({ name: keyName.trim(), ...(keyUser && { userId: keyUser }) });
      setRevealed({ title: t("users.namedKeyFor", { key: res.key.name, name: userName.get(res.key.userId) ?? t("users.youName") }), key: res.apiKey });
      setKeyName("");
      await queryClient.invalidateQueries({ queryKey: trpc.admin.apiKeys.pathKey() });
    } catch {
      /* shown below the form */
    }
  };

  // Revoke
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const revoke = useMutation(trpc.admin.apiKeys.revoke.mutationOptions());
  const runRevoke = async () => {
    if (!revoking) return;
    try {
      await revoke.mutateAsync({ id: revoking.id });
      setRevoking(null);
      await queryClient.invalidateQueries({ queryKey: trpc.admin.apiKeys.pathKey() });
    } catch {
      /* shown in the dialog */
    }
  };

  return (
    <div className="admin-users">
      {revealed && <KeyReveal title={revealed.title} apiKey={revealed.key} onDone={() => setRevealed(null)} />}

      <section className="card" aria-labelledby="users-title">
        <header className="card-header">
          <h2 id="users-title">{t("users.title")}</h2>
          <span className="muted">{users.data ? t("users.count", { count: users.data.items.length, tenant: me.tenant.name }) : ""}</span>
        </header>
        <form className="inline-form" onSubmit={(e) => void submitUser(e)} aria-label={t("users.createUser")}>
          <div className="field">
            <label htmlFor="new-user-name">{t("users.name")}</label>
            <input id="new-user-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder={t("users.namePlaceholder")} />
          </div>
          <div className="field">
            <label htmlFor="new-user-role">{t("users.role")}</label>
            <select id="new-user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {tr(r)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="btn btn-primary" disabled={createUser.isPending || !name.trim()}>
            {createUser.isPending ? tc("creating") : t("users.create")}
          </button>
        </form>
        {createUser.isError && (
          <p className="form-error" role="alert">
            {errorMessage(createUser.error)}
          </p>
        )}
        <div className="table-wrap">
          <table className="data-table stack">
            <thead>
              <tr>
                <th scope="col">{t("users.name")}</th>
                <th scope="col">{t("users.role")}</th>
                <th scope="col" className="num">
                  {t("users.activeKeys")}
                </th>
                <th scope="col">{t("users.created")}</th>
              </tr>
            </thead>
            <tbody>
              {users.data?.items.map((u) => (
                <tr key={u.id}>
                  <td className="col-title">
                    {u.name}
                    {u.id === me.user.id && <span className="muted"> {t("users.you")}</span>}
                  </td>
                  <td data-label={t("users.role")}>
                    <span className={`role role-${u.role}`}>{tr(u.role)}</span>
                  </td>
                  <td className="num" data-label={t("users.activeKeys")}>
                    {keys.data?.items.filter((k) => k.userId === u.id && !k.revokedAt).length ?? "—"}
                  </td>
                  <td data-label={t("users.created")} title={fullDate(u.createdAt)}>
                    {shortDate(u.createdAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card" aria-labelledby="keys-title">
        <header className="card-header">
          <h2 id="keys-title">{t("keys.title")}</h2>
          <span className="muted">{t("keys.intro")}</span>
        </header>
        <form className="inline-form" onSubmit={(e) => void submitKey(e)} aria-label={t("keys.createKey")}>
          <div className="field">
            <label htmlFor="new-key-user">{t("keys.forUser")}</label>
            <select id="new-key-user" value={keyUser} onChange={(e) => setKeyUser(e.target.value)}>
              <option value="">{t("keys.me", { name: me.user.name })}</option>
              {users.data?.items
                .filter((u) => u.id !== me.user.id)
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} ({tr(u.role)})
                  </option>
                ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="new-key-name">{t("keys.keyName")}</label>
            <input id="new-key-name" value={keyName} maxLength={100} onChange={(e) => setKeyName(e.target.value)} placeholder={t("keys.keyNamePlaceholder")} />
          </div>
          <button type="submit" className="btn btn-primary" disabled={createKey.isPending || !keyName.trim()}>
            {createKey.isPending ? tc("creating") : t("keys.create")}
          </button>
        </form>
        {createKey.isError && (
          <p className="form-error" role="alert">
            {errorMessage(createKey.error)}
          </p>
        )}
        <div className="table-wrap">
          <table className="data-table stack">
            <thead>
              <tr>
                <th scope="col">{t("keys.colName")}</th>
                <th scope="col">{t("keys.colUser")}</th>
                <th scope="col">{t("keys.colKey")}</th>
                <th scope="col">{t("keys.colCreated")}</th>
                <th scope="col">{t("keys.colLastUsed")}</th>
                <th scope="col">{t("keys.colStatus")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("keys.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data?.items.map((k) => (
                <tr key={k.id} data-key-id={k.id} className={k.revokedAt ? "is-revoked" : ""}>
                  <td className="col-title">{k.name}</td>
                  <td data-label={t("keys.colUser")}>{userName.get(k.userId) ?? "—"}</td>
                  <td data-label={t("keys.colKey")}>
                    <code>{k.prefix}…</code>
                  </td>
                  <td data-label={t("keys.colCreated")} title={fullDate(k.createdAt)}>
                    {shortDate(k.createdAt)}
                  </td>
                  <td data-label={t("keys.colLastUsed")}>{k.lastUsedAt ? shortDate(k.lastUsedAt) : t("keys.never")}</td>
                  <td data-label={t("keys.colStatus")}>
                    {k.revokedAt ? <span className="badge badge-failed">{t("keys.revoked")}</span> : <span className="badge badge-ok">{t("keys.active")}</span>}
                  </td>
                  <td className="col-actions">
                    {!k.revokedAt && (
                      <button type="button" className="btn btn-sm btn-danger-outline" onClick={() => setRevoking(k)} aria-label={t("keys.revokeLabel", { name: k.name, prefix: k.prefix })}>
                        {t("keys.revoke")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <ConfirmDialog
        open={revoking !== null}
        title={t("keys.revokeTitle")}
        confirmLabel={t("keys.revokeConfirm")}
        busy={revoke.isPending}
        error={revoke.error ? errorMessage(revoke.error) : undefined}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
        onConfirm={() => void runRevoke()}
      >
        <p>
          {t.rich("keys.revokeBody", {
            name: revoking?.name ?? "",
            prefix: revoking?.prefix ?? "",
            user: (revoking && userName.get(revoking.userId)) ?? t("keys.thisUser"),
            strong: (chunk) => <strong>{chunk}</strong>,
          })}
        </p>
      </ConfirmDialog>
    </div>
  );
}
