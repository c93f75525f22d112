"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, type ReactNode } from "react";
import { errorCode } from "./errors";
import { Logo, SignOutIcon } from "./icons";
import type { PublicMe } from "./serverAuth";
import { useTRPC } from "./trpc";

/** Signs out and goes to the sign-in page, whatever the server answered. */
export function useSignOut(): () => void {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSettled: () => {
        queryClient.clear();
        window.location.assign("/signin");
      },
    }),
  );
  return () => signOut.mutate();
}

/**
 * Who is signed in, rechecked every few minutes: a revoked key or an expired sign-in sends the
 * browser back to the sign-in page (then to `next`).
 */
export function useSignedInUser(next?: string) {
  const trpc = useTRPC();
  const me = useQuery({ ...trpc.auth.me.queryOptions(), refetchInterval: 5 * 60_000 });
  useEffect(() => {
    if (errorCode(me.error) === "UNAUTHORIZED") window.location.assign(next ? `/signin?next=${next}` : "/signin");
  }, [me.error, next]);
  return me;
}

/** The header of the full-width pages (admin, knowledge): brand, page badge, links, who, sign out. */
export function PageHeader({ me, badge, children }: { me: PublicMe; badge: string; children: ReactNode }) {
  const signOut = useSignOut();
  return (
    <header className="admin-header">
      <Link href="/" className="brand">
        <Logo size={26} />
        <span>Parley</span>
      </Link>
      <span className="admin-badge">{badge}</span>
      <span className="admin-tenant" title="Tenant">
        {me.tenant.name}
      </span>
      <div className="admin-header-actions">
        {children}
        <span className="admin-me">
          {me.user.name} · {me.user.role}
        </span>
        <button type="button" className="icon-btn" aria-label="Sign out" title="Sign out" onClick={signOut}>
          <SignOutIcon />
        </button>
      </div>
    </header>
  );
}
