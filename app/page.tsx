import { redirect } from "next/navigation";
import { ChatApp } from "./_components/ChatApp";
import { currentCaller, publicMe } from "./_components/serverAuth";

export const dynamic = "force-dynamic";

export default async function ChatPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const caller = await currentCaller();
  if (!caller) redirect("/signin");
  const { c } = await searchParams;
  return <ChatApp me={publicMe(caller)} initialSessionId={typeof c === "string" ? c : null} />;
}
