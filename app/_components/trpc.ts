"use client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/http/trpc/routers/_app";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type Session = RouterOutputs["session"]["get"];
export type Message = RouterOutputs["message"]["list"]["items"][number];
export type Me = RouterOutputs["auth"]["me"];
export type Reference = Message["references"][number];
export type { StreamEvent } from "@/server/chat/events";
