import Link from "next/link";
import { getTranslations } from "next-intl/server";
import { Logo } from "./_components/icons";

export default async function NotFound() {
  const t = await getTranslations("notFound");
  return (
    <main className="signin-page">
      <div className="signin-card">
        <div className="signin-brand">
          <Logo size={40} />
          <h1>{t("title")}</h1>
        </div>
        <Link href="/" className="btn btn-primary btn-block">
          {t("back")}
        </Link>
      </div>
    </main>
  );
}
