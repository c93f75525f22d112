import type { Metadata } from "next";
import { getTranslations } from "next-intl/server";
import { SignInForm } from "./SignInForm";

export async function generateMetadata(): Promise<Metadata> {
  return { title: `${(await getTranslations("signin"))("pageTitle")} · Parley` };
}

export default function SignInPage() {
  return (
    <main className="signin-page">
      <SignInForm />
    </main>
  );
}
