"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, isTRPCClientError, splitLink } from "@trpc/client";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import { z } from "zod";
import type { AppRouter } from "@/server/http/trpc/routers/_app";
import { MAX_BATCH_CALLS } from "@/common/limits";
import { TRPCProvider } from "./_components/trpc";

// Zod probes `new Function` once to compile faster parsers; the page's CSP allows no eval, so the
// probe would only be reported as a violation. The interpreted parsers are fast enough here.
z.config({ jitless: true });

function apiUrl() {
  // Relative in the browser (cookies authenticate same-origin); absolute only if something runs on the server.
  if (typeof window !== "undefined") return "/api/trpc";
  return `http://localhost:${process.env.PORT ?? 3000}/api/trpc`;
}

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        refetchOnWindowFocus: false,
        retry: (failureCount, error) => {
          // Auth, permission and missing-thing errors will not get better by asking again.
          if (isTRPCClientError(error)) {
            const code = (error.data as { code?: string } | undefined)?.code;
            if (code && ["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST"].includes(code)) return false;
          }
          return failureCount < 2;
        },
      },
    },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === "subscription",
          true: httpSubscriptionLink({ url: apiUrl(), transformer: superjson }),
          false: httpBatchLink({ url: apiUrl(), transformer: superjson, maxItems: MAX_BATCH_CALLS }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
