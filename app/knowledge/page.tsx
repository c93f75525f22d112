import type { Metadata } from "next";
import { getTranslations } from "next-intl/server";
import { redirect } from "next/navigation";
import { KnowledgePage } from "../_components/knowledge/KnowledgePage";
import { currentCaller, publicMe } from "../_components/serverAuth";

export const dynamic = "force-dynamic";
export async function generateMetadata(): Promise<Metadata> {
  return { title: `${(await getTranslations("knowledge"))("pageTitle")} · Parley` };
}

/** Every signed-in member: knowledge is shared within a tenant. */
export default async function Knowledge({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const caller = await currentCaller();
  if (!caller) redirect("/signin?next=/knowledge");
  const { base } = await searchParams;
  return <KnowledgePage me={publicMe(caller)} initialBaseId={typeof base === "string" ? base : null} />;
}
