import type { Metadata } from "next";
import { getTranslations } from "next-intl/server";
import { redirect } from "next/navigation";
import { AdminDashboard } from "../_components/admin/AdminDashboard";
import { currentCaller, publicMe } from "../_components/serverAuth";

export const dynamic = "force-dynamic";
export async function generateMetadata(): Promise<Metadata> {
  return { title: `${(await getTranslations("admin"))("pageTitle")} · Parley` };
}

/** Admins and owners only: members are sent back to their chats. */
export default async function AdminPage() {
  const caller = await currentCaller();
  if (!caller) redirect("/signin?next=/admin");
  const me = publicMe(caller);
  if (!me.isAdmin) redirect("/?denied=admin");
  return <AdminDashboard me={me} />;
}
