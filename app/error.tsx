"use client";
import { Logo } from "./_components/icons";

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="signin-page">
      <div className="signin-card" role="alert">
        <div className="signin-brand">
          <Logo size={40} />
          <h1>Something went wrong</h1>
        </div>
        <p className="hint" style={{ textAlign: "center" }}>
          Parley could not load this page{error.digest ? ` (${error.digest})` : ""}. It may be starting up or unable to reach its database.
        </p>
        <button type="button" className="btn btn-primary btn-block" style={{ marginTop: 18 }} onClick={reset}>
          Try again
        </button>
      </div>
    </main>
  );
}
