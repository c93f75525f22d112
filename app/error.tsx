"use client";
import { useTranslations } from "next-intl";
import { Logo } from "./_components/icons";

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const t = useTranslations("errorPage");
  return (
    <main className="signin-page">
      <div className="signin-card" role="alert">
        <div className="signin-brand">
          <Logo size={40} />
          <h1>{t("title")}</h1>
        </div>
        <p className="hint" style={{ textAlign: "center" }}>
          {t("body", { digest: error.digest ? ` (${error.digest})` : "" })}
        </p>
        <button type="button" className="btn btn-primary btn-block" style={{ marginTop: 18 }} onClick={reset}>
          {t("retry")}
        </button>
      </div>
    </main>
  );
}
