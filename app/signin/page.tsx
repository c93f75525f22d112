import type { Metadata } from "next";
import { SignInForm } from "./SignInForm";

export const metadata: Metadata = { title: "Sign in · Parley" };

export default function SignInPage() {
  return (
    <main className="signin-page">
      <SignInForm />
    </main>
  );
}
