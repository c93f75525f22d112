import { expect, test, type Page } from "@playwright/test";
import { BOOTSTRAP_KEY } from "./constants";
import { createSession, lastAnswer, newUser, sendChat, signIn, waitForAnswer } from "./helpers";

/**
 * The browser side of hardening: a sign-in link asks before replacing who is signed in, an answer's
 * Markdown image is a link (nothing remote is loaded), and the app runs under its CSP with no violation.
 */

/** CSP violations the page reports (console and securitypolicyviolation events), and requests to other hosts. */
function watch(page: Page) {
  const violations: string[] = [];
  const remote: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("http://localhost") && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) remote.push(r.url());
  });
  void page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return { violations, remote };
}

test("a #key= link asks before replacing the signed-in user, in the page's language", async ({ page }) => {
  const seen = watch(page);
  await signIn(page, BOOTSTRAP_KEY);
  const member = await newUser(page.request, "member", "confirmuser");
  await page.goto(`/signin#key=${member.key}`);
  const question = page.getByRole("heading", { name: `Sign in as ${member.name} of default?` });
  await expect(question).toBeVisible();
  expect(page.url()).not.toContain(member.key);
  await expect(page.getByText("This browser is signed in as admin of default.", { exact: false })).toBeVisible();
  await page.screenshot({ path: "test-results/signin-confirm.png" });

  // Staying keeps the owner signed in.
  await page.getByRole("button", { name: "Stay admin" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("complementary", { name: "Chats sidebar" })).toContainText("admin");

  // Confirming switches.
  await page.goto(`/signin#key=${member.key}`);
  await page.getByRole("button", { name: `Sign in as ${member.name}` }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("complementary", { name: "Chats sidebar" })).toContainText(member.name);
  expect(seen.violations).toEqual([]);
  expect(seen.remote).toEqual([]);
});

test("an answer's Markdown image is a link; nothing remote loads and the CSP reports nothing", async ({ page }) => {
  const seen = watch(page);
  const member = await newUser(page.request, "member", "imageuser");
  // With no knowledge base and the fixed fallback, the answer is exactly this text.
  const s = await createSession(page.request, member.key, {
    title: "image",
    knowledgeBaseId: null,
    strategy: { fallbackStrategy: "fixed", fallbackResponse: "Look: ![tracking pixel](https://remote.example/pixel.png) done." },
  });
  await sendChat(page.request, member.key, s.id, "Show me the picture");
  await waitForAnswer(page.request, member.key, s.id);
  await signIn(page, member.key);
  await page.goto(`/?c=${s.id}`);
  const answer = lastAnswer(page);
  const link = answer.getByRole("link", { name: "tracking pixel" });
  await expect(link).toHaveAttribute("href", "https://remote.example/pixel.png");
  await expect(answer.locator("img")).toHaveCount(0);
  expect(seen.remote).toEqual([]);
  expect(seen.violations).toEqual([]);
});
