import Link from "next/link";
import { Logo } from "./_components/icons";

export default function NotFound() {
  return (
    <main className="signin-page">
      <div className="signin-card">
        <div className="signin-brand">
          <Logo size={40} />
          <h1>Page not found</h1>
        </div>
        <Link href="/" className="btn btn-primary btn-block">
          Back to your chats
        </Link>
      </div>
    </main>
  );
}
