"use client";
import { useEffect, useRef, type RefObject } from "react";
import { paintHighlights } from "./Highlight";

/**
 * Highlights the sidebar's search terms in the messages under `root`, and shows the first match
 * once the conversation is `ready` (once per search term).
 */
export function useSearchHighlight(root: RefObject<HTMLElement | null>, highlight: string, messages: unknown, ready: boolean) {
  const scrolledToMatch = useRef(false);
  useEffect(() => {
    const first = paintHighlights(root.current, highlight);
    if (first && !scrolledToMatch.current && ready) {
      scrolledToMatch.current = true;
      first.startContainer.parentElement?.scrollIntoView({ block: "center" });
    }
  }, [root, highlight, messages, ready]);
  useEffect(() => {
    scrolledToMatch.current = false;
  }, [highlight]);
  useEffect(() => () => void paintHighlights(null, ""), []);
}
