"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import { ConfirmDialog } from "../Dialog";
import { errorMessage } from "../errors";
import type { PublicMe } from "../serverAuth";
import { useTRPC, type RouterOutputs } from "../trpc";
import { fullDate, shortDate } from "../util";
import { KeyReveal } from "./KeyReveal";

type ApiKey = RouterOutputs["admin"]["apiKeys"]["list"]["items"][number];
type Role = "owner" | "admin" | "member";

export function UsersPanel({ me }: { me: PublicMe }) {
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
      setRevealed({ title: `API key for ${res.user.name} (${res.user.role})`, key: res.apiKey });
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
      setRevealed({ title: `API key “${res.key.name}” for ${userName.get(res.key.userId) ?? "you"}`, key: res.apiKey });
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
          <h2 id="users-title">Users</h2>
          <span className="muted">{users.data ? `${users.data.items.length} in ${me.tenant.name}` : ""}</span>
        </header>
        <form className="inline-form" onSubmit={submitUser} aria-label="Create a user">
          <div className="field">
            <label htmlFor="new-user-name">Name</label>
            <input id="new-user-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder="e.g. alice" />
          </div>
          <div className="field">
            <label htmlFor="new-user-role">Role</label>
            <select id="new-user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="btn btn-primary" disabled={createUser.isPending || !name.trim()}>
            {createUser.isPending ? "Creating…" : "Create user"}
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
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col" className="num">
                  Active keys
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {users.data?.items.map((u) => (
                <tr key={u.id}>
                  <td className="col-title">
                    {u.name}
                    {u.id === me.user.id && <span className="muted"> (you)</span>}
                  </td>
                  <td data-label="Role">
                    <span className={`role role-${u.role}`}>{u.role}</span>
                  </td>
                  <td className="num" data-label="Active keys">
                    {keys.data?.items.filter((k) => k.userId === u.id && !k.revokedAt).length ?? "—"}
                  </td>
                  <td data-label="Created" title={fullDate(u.createdAt)}>
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
          <h2 id="keys-title">API keys</h2>
          <span className="muted">Keys are shown once at creation and stored only as a hash.</span>
        </header>
        <form className="inline-form" onSubmit={submitKey} aria-label="Create an API key">
          <div className="field">
            <label htmlFor="new-key-user">For user</label>
            <select id="new-key-user" value={keyUser} onChange={(e) => setKeyUser(e.target.value)}>
              <option value="">Me ({me.user.name})</option>
              {users.data?.items
                .filter((u) => u.id !== me.user.id)
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} ({u.role})
                  </option>
                ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="new-key-name">Key name</label>
            <input id="new-key-name" value={keyName} maxLength={100} onChange={(e) => setKeyName(e.target.value)} placeholder="e.g. laptop" />
          </div>
          <button type="submit" className="btn btn-primary" disabled={createKey.isPending || !keyName.trim()}>
            {createKey.isPending ? "Creating…" : "Create key"}
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
                <th scope="col">Name</th>
                <th scope="col">User</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data?.items.map((k) => (
                <tr key={k.id} data-key-id={k.id} className={k.revokedAt ? "is-revoked" : ""}>
                  <td className="col-title">{k.name}</td>
                  <td data-label="User">{userName.get(k.userId) ?? "—"}</td>
                  <td data-label="Key">
                    <code>{k.prefix}…</code>
                  </td>
                  <td data-label="Created" title={fullDate(k.createdAt)}>
                    {shortDate(k.createdAt)}
                  </td>
                  <td data-label="Last used">{k.lastUsedAt ? shortDate(k.lastUsedAt) : "never"}</td>
                  <td data-label="Status">{k.revokedAt ? <span className="badge badge-failed">Revoked</span> : <span className="badge badge-ok">Active</span>}</td>
                  <td className="col-actions">
                    {!k.revokedAt && (
                      <button type="button" className="btn btn-sm btn-danger-outline" onClick={() => setRevoking(k)} aria-label={`Revoke key ${k.name} (${k.prefix})`}>
                        Revoke
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
        title="Revoke this key?"
        confirmLabel="Revoke key"
        busy={revoke.isPending}
        error={revoke.error ? errorMessage(revoke.error) : undefined}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
        onConfirm={runRevoke}
      >
        <p>
          <strong>{revoking?.name}</strong> ({revoking?.prefix}…) of {revoking && (userName.get(revoking.userId) ?? "this user")} stops working at once,
          and browsers signed in with it are signed out.
        </p>
      </ConfirmDialog>
    </div>
  );
}
