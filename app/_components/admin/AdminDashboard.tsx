"use client";
import { useTranslations } from "next-intl";
import { PageHeader, useSignedInUser } from "../account";
import Link from "next/link";
import { useEffect, useState } from "react";
import { ChatIcon } from "../icons";
import { BookIcon } from "../knowledge/icons";
import type { PublicMe } from "../serverAuth";
import { SessionsTable } from "./SessionsTable";
import { StatsPanel } from "./StatsPanel";
import { TenantSettingsPanel } from "./TenantSettingsPanel";
import { TenantsPanel } from "./TenantsPanel";
import { UsersPanel } from "./UsersPanel";

type Tab = "overview" | "sessions" | "users" | "settings" | "tenants";

export function AdminDashboard({ me }: { me: PublicMe }) {
  const t = useTranslations("admin");
  const canCreateTenants = me.user.role === "owner" && me.tenant.name === "default";
  const tabs: { id: Tab; label: string }[] = [
    { id: "overview", label: t("tabs.overview") },
    { id: "sessions", label: t("tabs.sessions") },
    { id: "users", label: t("tabs.users") },
    { id: "settings", label: t("tabs.settings") },
    ...(canCreateTenants ? [{ id: "tenants" as Tab, label: t("tabs.tenants") }] : []),
  ];
  const [tab, setTab] = useState<Tab>("overview");

  useEffect(() => {
    const fromHash = window.location.hash.replace("#", "") as Tab;
    if (tabs.some((t) => t.id === fromHash)) setTab(fromHash);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const select = (t: Tab) => {
    setTab(t);
    window.history.replaceState(null, "", `#${t}`);
  };

  const meQuery = useSignedInUser();
  useEffect(() => {
    if (meQuery.data && meQuery.data.user.role === "member") window.location.assign("/");
  }, [meQuery.data]);

  return (
    <div className="admin-shell">
      <PageHeader me={me} badge={t("badge")}>
        <Link href="/" className="btn btn-ghost btn-sm">
          <ChatIcon size={16} />
          <span>{t("chats")}</span>
        </Link>
        <Link href="/knowledge" className="btn btn-ghost btn-sm" aria-label={t("knowledge")}>
          <BookIcon size={16} />
          <span className="kb-hide-narrow">{t("knowledge")}</span>
        </Link>
      </PageHeader>
      <nav className="admin-tabs" role="tablist" aria-label={t("sections")}>
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            className={`admin-tab ${tab === t.id ? "active" : ""}`}
            onClick={() => select(t.id)}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <main className="admin-main" id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === "overview" && <StatsPanel onOpenSessions={() => select("sessions")} />}
        {tab === "sessions" && <SessionsTable />}
        {tab === "users" && <UsersPanel me={me} />}
        {tab === "settings" && <TenantSettingsPanel />}
        {tab === "tenants" && canCreateTenants && <TenantsPanel />}
      </main>
    </div>
  );
}
