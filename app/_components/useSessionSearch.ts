"use client";
import { useEffect, useState } from "react";
import { useDebounced } from "./util";

/** The sidebar's search box: what is typed, and the trimmed term searched for once typing pauses. */
export function useSessionSearch(onSearchChange: (term: string) => void) {
  const [query, setQuery] = useState("");
  const search = useDebounced(query.trim(), 250);
  useEffect(() => {
    onSearchChange(search);
  }, [search, onSearchChange]);
  return { query, setQuery, search };
}
