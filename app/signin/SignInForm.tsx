"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslations } from "next-intl";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Logo } from "../_components/icons";
import { useTRPC } from "../_components/trpc";
import { errorMessage } from "../_components/errors";
import { safeNext } from "../_components/safeNext";

/** Reads `#key=<key>` from the URL once, and removes it from the address bar and history. */
function takeKeyFromFragment(): string | null {
  const hash = window.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const key = new URLSearchParams(hash).get("key");
  window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  return key?.trim() || null;
}

interface Identity {
  user: { id: string; name: string };
  tenant: { name: string };
}

/** Who `auth.me` names: the browser's cookie, or `apiKey` when given (without signing in with it); null if nobody. */
async function whoIs(apiKey?: string): Promise<Identity | null> {
  const res = await fetch("/api/trpc/auth.me", { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, credentials: "same-origin" });
  if (!res.ok) return null;
  const body = (await res.json()) as { result?: { data?: { json?: Identity } } };
  return body.result?.data?.json ?? null;
}

/** A sign-in link to confirm: who the link signs in, and who is signed in here now (null: nobody). */
interface LinkSignIn {
  key: string;
  current: Identity | null;
  next: Identity;
}

export function SignInForm() {
  const t = useTranslations("signin");
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [apiKey, setApiKey] = useState("");
  const [fromLink, setFromLink] = useState(false);
  const [confirming, setConfirming] = useState<LinkSignIn | null>(null);
  const [checking, setChecking] = useState(false);
  const started = useRef(false);
  const goOn = () => {
    router.replace(safeNext(new URLSearchParams(window.location.search).get("next")));
    router.refresh();
  };
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess: () => {
        queryClient.clear();
        goOn();
      },
    }),
  );

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const key = takeKeyFromFragment();
    if (!key) return;
    setFromLink(true);
    setChecking(true);
    // A link never signs anyone in silently, whoever is signed in here (another site may have sent
    // it: login CSRF), so ask first; unless it names who is signed in already. A wrong key: its error.
    void Promise.all([whoIs(), whoIs(key)])
      .catch(() => [null, null] as const)
      .then(([current, next]) => {
        setChecking(false);
        if (next && current?.user.id !== next.user.id) setConfirming({ key, current, next });
        else signIn.mutate({ apiKey: key });
      });
  }, [signIn]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!apiKey.trim()) return;
    setFromLink(false);
    signIn.mutate({ apiKey: apiKey.trim() });
  };

  const busy = signIn.isPending || signIn.isSuccess;
  if (confirming) {
    const { current, next } = confirming;
    const names = { user: next.user.name, tenant: next.tenant.name, currentUser: current?.user.name ?? "", currentTenant: current?.tenant.name ?? "" };
    return (
      <div className="signin-card" role="alertdialog" aria-labelledby="switch-question" aria-describedby="switch-detail">
        <div className="signin-brand">
          <Logo size={40} />
          <h1 id="switch-question">{t("switchQuestion", names)}</h1>
        </div>
        <p id="switch-detail" className="hint">
          {t(current ? "switchDetail" : "linkDetail", names)}
        </p>
        <div className="signin-form">
          <button
            type="button"
            className="btn btn-primary btn-block"
            autoFocus
            onClick={() => {
              setConfirming(null);
              signIn.mutate({ apiKey: confirming.key });
            }}
          >
            {t("switchConfirm", names)}
          </button>
          {current ? (
            <button type="button" className="btn btn-block" onClick={goOn}>
              {t("switchCancel", names)}
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-block"
              onClick={() => {
                setConfirming(null);
                setFromLink(false);
              }}
            >
              {t("linkCancel")}
            </button>
          )}
        </div>
      </div>
    );
  }
  return (
    <div className="signin-card">
      <div className="signin-brand">
        <Logo size={40} />
        <h1>{t("title")}</h1>
      </div>
      {fromLink && (busy || checking) ? (
        <p className="signin-status" role="status">
          {t(checking ? "checkingLink" : "signingYouIn")}
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
