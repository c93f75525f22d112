"use client";
import { useTranslations } from "next-intl";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { sessionInputSchema } from "@/common/settings";
import { errorMessage } from "./errors";
import { sessionBaseIds, sessionKnowledgeInput } from "./knowledge/SessionKnowledge";
import { useSessionCache } from "./sessionCache";
import { friendlyIssue, fromForm, groupDefaults, GROUPS, toForm, type FormValues } from "./settingsForm";
import { useTRPC } from "./trpc";

/**
 * The chat settings form's state: values loaded from the session, checked against the same schema
 * the server uses before saving (errors keyed by field path), and whether anything changed.
 */
export function useSettingsForm(sessionId: string) {
  const t = useTranslations("settings");
  const trpc = useTRPC();
  const cache = useSessionCache();
  const session = useQuery(trpc.session.get.queryOptions({ id: sessionId }));
  const [values, setValues] = useState<FormValues | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const update = useMutation(trpc.session.update.mutationOptions());
  const generateTitleMutation = useMutation(trpc.session.generateTitle.mutationOptions());
  // The bases this chat answers from: knowledgeBaseId first, then agentConfig.knowledgeBases.
  const bases = useQuery(trpc.knowledge.bases.list.queryOptions());
  const knownBases = useMemo(() => (bases.data ? new Set(bases.data.items.map((b) => b.id)) : null), [bases.data]);
  const [knowledge, setKnowledge] = useState<string[]>([]);

  useEffect(() => {
    if (session.data && values === null) {
      setValues(toForm(session.data));
      setKnowledge(sessionBaseIds(session.data));
    }
  }, [session.data, values]);

  const set = (id: string, v: string | boolean) => {
    setValues((prev) => ({ ...prev!, [id]: v }));
    setSaved(false);
    if (errors[id]) setErrors(({ [id]: _, ...rest }) => rest);
  };

  const knowledgeDirty = useMemo(() => {
    if (!session.data || !knownBases) return false;
    const known = (ids: string[]) => ids.filter((id) => knownBases.has(id));
    return JSON.stringify(known(knowledge)) !== JSON.stringify(known(sessionBaseIds(session.data)));
  }, [knowledge, knownBases, session.data]);
  const dirty = useMemo(
    () => (values !== null && session.data !== undefined && JSON.stringify(values) !== JSON.stringify(toForm(session.data))) || knowledgeDirty,
    [values, session.data, knowledgeDirty],
  );

  const submit = async () => {
    if (!values) return;
    // Knowledge is sent only once the tenant's bases are known, so a failed list never clears it.
    const input = { ...fromForm(values), ...(knownBases && sessionKnowledgeInput(knowledge, knownBases)) };
    const parsed = sessionInputSchema.safeParse(input);
    if (!parsed.success) {
      const next: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const id = issue.path.join(".");
        next[id] ??= friendlyIssue(issue, (key, v) => t(key as never, v as never));
      }
      setErrors(next);
      document.getElementById(`field-${Object.keys(next)[0]}`)?.focus();
      return;
    }
    setErrors({});
    try {
      const s = await update.mutateAsync({ id: sessionId, ...parsed.data });
      cache.patch(s.id, s);
      setValues(toForm(s));
      setKnowledge(sessionBaseIds(s));
      setSaved(true);
    } catch (err) {
      const fieldErrors = (err as { data?: { zodError?: { fieldErrors?: Record<string, string[]> } } }).data?.zodError?.fieldErrors;
      if (fieldErrors) setErrors(Object.fromEntries(Object.entries(fieldErrors).map(([k, v]) => [k, v[0] ?? ""])));
    }
  };

  const resetGroup = (g: (typeof GROUPS)[number]) => {
    setValues((prev) => ({ ...prev!, ...groupDefaults(g) }));
    setSaved(false);
  };

  const generateTitle = async () => {
    try {
      const { title } = await generateTitleMutation.mutateAsync({ id: sessionId });
      set("title", title);
      cache.patch(sessionId, { title });
    } catch (err) {
      setErrors((prev) => ({ ...prev, title: errorMessage(err) }));
    }
  };

  const chooseKnowledge = (ids: string[]) => {
    setKnowledge(ids);
    setSaved(false);
    setErrors(({ knowledgeBaseId: _a, agentConfig: _b, ...rest }) => rest);
  };

  return {
    session,
    bases,
    values,
    errors,
    saved,
    dirty,
    knowledge,
    set,
    chooseKnowledge,
    resetGroup,
    submit,
    saving: update.isPending,
    saveError: update.isError ? errorMessage(update.error) : undefined,
    generateTitle,
    generatingTitle: generateTitleMutation.isPending,
  };
}
