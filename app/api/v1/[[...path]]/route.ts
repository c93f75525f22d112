import { getApp } from "@/server/app";
import { createRestApp, type RestApp } from "@/server/rest";

export const dynamic = "force-dynamic";

const globalForRest = globalThis as unknown as { __parleyRest?: Promise<RestApp> };

/** WeKnora's REST face, until the Node server in front of Next mounts it itself. */
async function handler(req: Request) {
  globalForRest.__parleyRest ??= getApp().then((app) => createRestApp(app));
  const rest = await globalForRest.__parleyRest.catch((error) => {
    globalForRest.__parleyRest = undefined;
    throw error;
  });
  return rest.fetch(req);
}

export { handler as DELETE, handler as GET, handler as POST, handler as PUT };
