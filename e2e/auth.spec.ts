import { expect, test } from "@playwright/test";
import { BOOTSTRAP_KEY } from "./constants";
import { newUser } from "./helpers";

test.describe("signing in", () => {
  test("unauthenticated visits to / and /admin go to /signin", async ({ page }) => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto("/admin");
    await expect(page).toHaveURL(/\/signin\?next=%2Fadmin$|\/signin\?next=\/admin$/);
    await expect(page.getByRole("heading", { name: "Sign in to Parley" })).toBeVisible();
  });

  test("with an API key in the form, then sign out", async ({ page }) => {
    await page.goto("/signin");
    const input = page.getByLabel("API key");
    await input.fill("pk_this_key_does_not_exist_0123456789");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: /unknown or revoked/i })).toBeVisible();
    await expect(page).toHaveURL(/\/signin$/);

    await input.fill(BOOTSTRAP_KEY);
    await input.press("Enter");
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("complementary", { name: "Chats sidebar" })).toContainText("admin");
    await expect(page.getByRole("button", { name: "New chat" }).first()).toBeVisible();

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin$/);
  });

  test("with a #key= link, which asks first even when nobody is signed in, and is cleared from the address bar", async ({ page }) => {
    const member = await newUser(page.request, "member", "linkuser");
    await page.goto(`/signin#key=${member.key}`);
    // Nobody is signed in, yet the link asks (another site may have sent it): declining signs nobody in.
    await expect(page.getByRole("heading", { name: `Sign in as ${member.name} of default?` })).toBeVisible();
    expect(page.url()).not.toContain(member.key);
    await page.getByRole("button", { name: "Not now" }).click();
    await expect(page.getByLabel("API key")).toBeVisible();
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin$/);

    // (A query of its own, so the browser loads the page again rather than only changing the fragment.)
    await page.goto(`/signin?next=%2F#key=${member.key}`);
    await page.getByRole("button", { name: `Sign in as ${member.name}` }).click();
    await expect(page).toHaveURL(/\/$/);
    expect(page.url()).not.toContain(member.key);
    await expect(page.getByRole("complementary", { name: "Chats sidebar" })).toContainText(member.name);
    // The key is not left in the history either: going back does not land on a URL holding it.
    const history = await page.evaluate(() => window.history.length);
    expect(history).toBeGreaterThan(0);
    await page.goBack();
    expect(page.url()).not.toContain("key=");
  });
});
