import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getApp } from "@/server/app";
import { appRouter } from "@/server/routers/_app";
import { createContext } from "@/server/trpc";

export const dynamic = "force-dynamic";

async function handler(req: Request) {
  const app = await getApp();
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext(app, req.headers, resHeaders),
  });
}

export { handler as GET, handler as POST };
