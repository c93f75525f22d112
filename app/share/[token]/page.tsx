import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { getFormatter, getTranslations } from "next-intl/server";
import { Logo } from "../../_components/icons";
import { Markdown } from "../../_components/Markdown";
import { sharedConversation } from "../../_components/serverShare";
import type { SharedMessage } from "@/common/settings";

/**
 * A shared conversation, read-only, for anyone with the link (no sign-in): rendered on the server,
 * so the HTML as served holds every message, its Markdown and its sources. Never indexed. A link
 * that shows nothing (unknown, revoked, its session deleted, sharing off) is the app's 404.
 */
export const dynamic = "force-dynamic";

type Props = { params: Promise<{ token: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const shared = await sharedConversation((await params).token);
  const t = await getTranslations("share");
  return { title: shared ? `${shared.title || t("untitled")} · Parley` : "Parley", robots: { index: false, follow: false } };
}

export default async function SharePage({ params }: Props) {
  const shared = await sharedConversation((await params).token);
  if (!shared) notFound();
  const t = await getTranslations("share");
  const format = await getFormatter();
  return (
    <main className="share-page">
      <header className="share-header">
        <Logo size={24} />
        <div className="share-heading">
          <h1>{shared.title || t("untitled")}</h1>
          <p className="muted">{t("sharedOn", { date: format.dateTime(shared.createdAt, { dateStyle: "long" }) })}</p>
        </div>
      </header>
      <div className="chat-column">
        {shared.messages.length === 0 && <p className="chat-placeholder">{t("empty")}</p>}
        {shared.messages.map((m, i) => (
          <SharedMessageView key={i} message={m} sourcesLabel={t("sources")} answerLabel={t("answer")} questionLabel={t("question")} />
        ))}
      </div>
      <footer className="share-footer muted">{t("readOnly")}</footer>
    </main>
  );
}

function SharedMessageView({ message: m, sourcesLabel, answerLabel, questionLabel }: { message: SharedMessage; sourcesLabel: string; answerLabel: string; questionLabel: string }) {
  if (m.role === "user") {
    return (
      <article className="msg msg-user" aria-label={questionLabel}>
        <div className="msg-user-bubble">{m.content}</div>
      </article>
    );
  }
  return (
    <article className="msg msg-assistant" aria-label={answerLabel}>
      <div className="msg-avatar">
        <Logo size={26} />
      </div>
      <div className="msg-body">
        <div className="msg-content">
          <Markdown text={m.content} />
        </div>
        {m.references.length > 0 && (
          <section className="sources" aria-label={sourcesLabel}>
            <h4>{sourcesLabel}</h4>
            <ol>
              {m.references.map((r, i) => (
                <li key={i} id={`source-${i + 1}`}>
                  <details>
                    <summary>
                      <span className="source-n">{i + 1}</span>
                      <span className="source-title">{r.title}</span>
                    </summary>
                    <p className="source-excerpt">{r.snippet}</p>
                  </details>
                </li>
              ))}
            </ol>
          </section>
        )}
      </div>
    </article>
  );
}
