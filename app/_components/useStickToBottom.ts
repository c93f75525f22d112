"use client";
import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from "react";

/** How close to the bottom (px) still counts as reading the latest message. */
const NEAR_BOTTOM_PX = 80;

/**
 * The conversation's scrolling: open at the newest message, follow the answer while the reader is
 * at the bottom, and keep the reader's place when older messages come in above. `ready`: the first
 * page is in.
 */
export function useStickToBottom(scroller: RefObject<HTMLElement | null>, messages: readonly unknown[], ready: boolean) {
  const atBottom = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const prepend = useRef<{ height: number; top: number } | null>(null);
  const didInitialScroll = useRef(false);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (prepend.current) {
      el.scrollTop = el.scrollHeight - prepend.current.height + prepend.current.top;
      prepend.current = null;
      return;
    }
    if (ready && !didInitialScroll.current && messages.length) {
      el.scrollTop = el.scrollHeight;
      didInitialScroll.current = true;
      return;
    }
    if (atBottom.current) el.scrollTop = el.scrollHeight;
  }, [scroller, messages, ready]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    atBottom.current = near;
    setShowJump(!near);
  };

  return {
    onScroll,
    /** The reader is not at the bottom: offer a way back. */
    showJump,
    jumpToBottom: () => {
      atBottom.current = true;
      scroller.current?.scrollTo({ top: scroller.current.scrollHeight, behavior: "smooth" });
    },
    /** Follow what comes next (the reader just sent a message). */
    follow: () => {
      atBottom.current = true;
    },
    /** Call before older messages are put above, so the reader's place stays where it is. */
    holdPlace: useCallback(() => {
      const el = scroller.current;
      if (el) prepend.current = { height: el.scrollHeight, top: el.scrollTop };
    }, [scroller]),
    /** The first page has been scrolled into place (until then the top is in view by accident). */
    settled: useCallback(() => didInitialScroll.current, []),
  };
}
