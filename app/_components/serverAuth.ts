import { cookies } from "next/headers";
import { getApp } from "@/server/boot/app";
import { authenticateWebSession, isAdmin, SESSION_COOKIE, type Caller } from "@/server/auth/accounts";

/** Who the browser is signed in as (from the httpOnly cookie), or null. Server components only. */
export async function currentCaller(): Promise<Caller | null> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token) return null;
  const app = await getApp();
  return authenticateWebSession(app.db, token);
}

/** What the client components need to know about the signed-in user, as plain data. */
export function publicMe(caller: Caller) {
  return {
    user: { id: caller.user.id, name: caller.user.name, role: caller.user.role },
    tenant: { id: caller.tenant.id, name: caller.tenant.name },
    isAdmin: isAdmin(caller.user),
  };
}
export type PublicMe = ReturnType<typeof publicMe>;
