import { cache } from "react";
import { getApp } from "@/server/boot/app";
import { readShare, type SharedConversation } from "@/server/sessions/shares";

/**
 * The conversation a share link shows, read in the App's process for the server-rendered page
 * (null: the link shows nothing). Cached per request, so the page and its metadata read it once.
 * Server components only.
 */
export const sharedConversation = cache(async (token: string): Promise<SharedConversation | null> => readShare((await getApp()).db, token));
