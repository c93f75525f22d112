"use client";
import { useEffect, useRef, type RefObject } from "react";

/**
 * Calls `onEnter` when the returned ref's element comes within `rootMargin` of `root`'s view (an
 * infinite-scroll sentinel). Null `onEnter` stops watching. Watching starts afresh whenever
 * `onEnter` or `rewatch` changes, and a fresh watch reports an element already in view: so a
 * sentinel that stayed visible while a page loaded asks for the next one.
 */
export function useInView<T extends Element>(
  root: RefObject<Element | null>,
  rootMargin: string,
  onEnter: (() => void) | null,
  rewatch?: unknown,
): RefObject<T | null> {
  const target = useRef<T>(null);
  useEffect(() => {
    const el = target.current;
    if (!el || !onEnter) return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onEnter(), { root: root.current, rootMargin });
    observer.observe(el);
    return () => observer.disconnect();
  }, [root, rootMargin, onEnter, rewatch]);
  return target;
}
