"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslations } from "next-intl";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Logo } from "../_components/icons";
import { useTRPC } from "../_components/trpc";
import { errorMessage } from "../_components/errors";

/** Reads `#key=<key>` from the URL once, and removes it from the address bar and history. */
function takeKeyFromFragment(): string | null {
  const hash = window.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const key = new URLSearchParams(hash).get("key");
  window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  return key?.trim() || null;
}

export function SignInForm() {
  const t = useTranslations("signin");
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [apiKey, setApiKey] = useState("");
  const [fromLink, setFromLink] = useState(false);
  const started = useRef(false);
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess: () => {
        queryClient.clear();
        const next = new URLSearchParams(window.location.search).get("next");
        router.replace(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
        router.refresh();
      },
    }),
  );

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const key = takeKeyFromFragment();
    if (key) {
      setFromLink(true);
      signIn.mutate({ apiKey: key });
    }
  }, [signIn]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!apiKey.trim()) return;
    setFromLink(false);
    signIn.mutate({ apiKey: apiKey.trim() });
  };

  const busy = signIn.isPending || signIn.isSuccess;
  return (
    <div className="signin-card">
      <div className="signin-brand">
        <Logo size={40} />
        <h1>{t("title")}</h1>
      </div>
      {fromLink && busy ? (
        <p className="signin-status" role="status">
          {t("signingYouIn")}
        </p>
      ) : (
        <form onSubmit={submit} className="signin-form" aria-label={t("formLabel")}>
          <label htmlFor="apiKey">{t("apiKey")}</label>
          <input
            id="apiKey"
            name="apiKey"
            type="password"
            autoComplete="current-password"
            autoFocus
            spellCheck={false}
            placeholder="pk_…"
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
            aria-invalid={signIn.isError || undefined}
            aria-describedby={signIn.isError ? "signin-error" : "signin-hint"}
          />
          {signIn.isError ? (
            <p id="signin-error" className="form-error" role="alert">
              {errorMessage(signIn.error)}
            </p>
          ) : (
            <p id="signin-hint" className="hint">
              {t("hint")}
            </p>
          )}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy || !apiKey.trim()}>
            {busy ? t("signingIn") : t("submit")}
          </button>
        </form>
      )}
    </div>
  );
}
