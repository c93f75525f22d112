"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useLocale, useTranslations } from "next-intl";
import Link from "next/link";
import { useEffect, type ReactNode } from "react";
import { LOCALE_COOKIE, LOCALE_NAMES, LOCALES, type Locale } from "@/i18n/locales";
import { errorCode } from "./errors";
import { CheckIcon, GlobeIcon, Logo, SignOutIcon } from "./icons";
import { Menu } from "./Menu";
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

/**
 * Remembers the language in the cookie server rendering reads (a year, the whole site), then
 * reloads so every page, server-rendered or not, comes back in it.
 */
export function chooseLocale(locale: Locale) {
  document.cookie = `${LOCALE_COOKIE}=${locale}; path=/; max-age=${365 * 24 * 3600}; samesite=lax`;
  window.location.reload();
}

/** The account area's language switch: each language named in itself, the current one ticked. */
export function LanguageMenu() {
  const t = useTranslations("account");
  const current = useLocale();
  return (
    <Menu
      label={t("language")}
      icon={<GlobeIcon />}
      items={LOCALES.map((l) => ({
        label: LOCALE_NAMES[l],
        lang: l,
        icon: l === current ? <CheckIcon size={16} /> : <span className="menu-icon-space" />,
        checked: l === current,
        onSelect: () => l !== current && chooseLocale(l),
      }))}
    />
  );
}

/** The header of the full-width pages (admin, knowledge): brand, page badge, links, who, sign out. */
export function PageHeader({ me, badge, children }: { me: PublicMe; badge: string; children: ReactNode }) {
  const t = useTranslations("account");
  const signOut = useSignOut();
  return (
    <header className="admin-header">
      <Link href="/" className="brand">
        <Logo size={26} />
        <span>Parley</span>
      </Link>
      <span className="admin-badge">{badge}</span>
      <span className="admin-tenant" title={t("tenant")}>
        {me.tenant.name}
      </span>
      <div className="admin-header-actions">
        {children}
        <span className="admin-me">
          {me.user.name} · {t(`roles.${me.user.role}`)}
        </span>
        <LanguageMenu />
        <button type="button" className="icon-btn" aria-label={t("signOut")} title={t("signOut")} onClick={signOut}>
          <SignOutIcon />
        </button>
      </div>
    </header>
  );
}
