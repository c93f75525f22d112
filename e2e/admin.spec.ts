import { expect, test } from "@playwright/test";
import { BOOTSTRAP_KEY } from "./constants";
import { createSession, newUser, sendChat, signIn, trpc, trpcCode, waitForAnswer } from "./helpers";

test.describe("the admin dashboard", () => {
  test("numbers, chart, every session of the tenant, transcript and bulk delete", async ({ page }) => {
    const alice = await newUser(page.request, "member", "alice");
    const bob = await newUser(page.request, "member", "bob");
    const tag = Date.now().toString(36);
    const a1 = await createSession(page.request, alice.key, { title: `Alice roadmap ${tag}` });
    const a2 = await createSession(page.request, alice.key, { title: `Alice budget ${tag}` });
    const b1 = await createSession(page.request, bob.key, { title: `Bob hiring ${tag}` });
    await sendChat(page.request, alice.key, a1.id, "What is Parley for?");
    await waitForAnswer(page.request, alice.key, a1.id);
    const stats = await trpc<{ sessions: number; users: number }>(page.request, "query", "admin.stats", undefined);

    await signIn(page, BOOTSTRAP_KEY);
    await page.goto("/admin");
    await expect(page.getByRole("tab", { name: "Overview" })).toHaveAttribute("aria-selected", "true");
    await expect(page.getByTestId("stat-sessions")).toHaveText(stats.sessions.toLocaleString("en-US"));
    await expect(page.getByTestId("stat-users")).toHaveText(stats.users.toLocaleString("en-US"));
    await expect(page.getByTestId("stat-messages")).not.toHaveText("0");
    await expect(page.getByTestId("stat-streaming-now")).toHaveText(/^\d+$/);
    await expect(page.getByRole("heading", { name: "Sessions per day" })).toBeVisible();
    await expect(page.locator(".chart-col")).toHaveCount(30);
    await expect(page.locator(".chart-bar:not(.is-zero)").last()).toBeVisible();

    await page.getByRole("tab", { name: "Sessions" }).click();
    const table = page.getByRole("table");
    const search = page.getByRole("searchbox", { name: "Search sessions" });
    await search.fill(tag);
    await expect(table.getByRole("row")).toHaveCount(4); // header + 3
    const roadmapRow = table.getByRole("row").filter({ hasText: `Alice roadmap ${tag}` });
    await expect(roadmapRow).toContainText(alice.name);
    await expect(roadmapRow.locator("td.num")).toHaveText("2");

    // Filter by user.
    await page.getByRole("combobox", { name: "Filter by user" }).selectOption(bob.id);
    await expect(table.getByRole("row")).toHaveCount(2);
    await expect(table).toContainText(`Bob hiring ${tag}`);
    await page.getByRole("combobox", { name: "Filter by user" }).selectOption("");
    await expect(table.getByRole("row")).toHaveCount(4);

    // Sort by messages, descending first: the one with messages comes first.
    await table.getByRole("button", { name: "Messages" }).click();
    await expect(table.getByRole("row").nth(1)).toContainText(`Alice roadmap ${tag}`);
    await table.getByRole("button", { name: "Title" }).click();
    await expect(table.getByRole("row").nth(1)).toContainText(`Alice budget ${tag}`);

    // A read-only transcript of someone else's session.
    await table.getByRole("button", { name: `Alice roadmap ${tag}` }).click();
    const transcript = page.getByRole("dialog", { name: `Alice roadmap ${tag}` });
    await expect(transcript).toContainText("What is Parley for?");
    await expect(transcript).toContainText("read-only");
    await expect(transcript.getByRole("textbox")).toHaveCount(0);
    await transcript.getByRole("button", { name: "Close" }).click();

    // Bulk delete two of them.
    await table.getByRole("checkbox", { name: `Select Alice budget ${tag}` }).check();
    await table.getByRole("checkbox", { name: `Select Bob hiring ${tag}` }).check();
    await page.getByRole("button", { name: "Delete 2 selected" }).click();
    await page.getByRole("dialog", { name: "Delete 2 sessions?" }).getByRole("button", { name: "Delete 2 sessions" }).click();
    await expect(table.getByRole("row")).toHaveCount(2);
    expect(await trpcCode(page.request, "query", "session.get", { id: a2.id }, alice.key)).toBe("NOT_FOUND");
    expect(await trpcCode(page.request, "query", "session.get", { id: b1.id }, bob.key)).toBe("NOT_FOUND");
    expect(await trpcCode(page.request, "query", "session.get", { id: a1.id }, alice.key)).toBe("OK");
  });

  test("create a user and a key (shown once), revoke it, and a member is refused from /admin", async ({ page, browser }) => {
    await signIn(page, BOOTSTRAP_KEY);
    await page.goto("/admin#users");
    await expect(page.getByRole("tab", { name: "Users & keys" })).toHaveAttribute("aria-selected", "true");

    const name = `carol-${Date.now().toString(36)}`;
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Role").selectOption("member");
    await page.getByRole("button", { name: "Create user" }).click();
    const reveal = page.getByRole("status").filter({ hasText: `API key for ${name}` });
    await expect(reveal).toContainText("will not be shown again");
    const memberKey = (await reveal.getByTestId("new-api-key").innerText()).trim();
    expect(memberKey).toMatch(/^pk_/);
    await expect(reveal.getByRole("button", { name: "Copy key" })).toBeVisible();
    await reveal.getByRole("button", { name: "Done" }).click();
    await expect(page.getByTestId("new-api-key")).toHaveCount(0);
    await expect(page.getByRole("table").first()).toContainText(name);

    // A second key for the same user.
    const users = await trpc<{ items: { id: string; name: string }[] }>(page.request, "query", "admin.users.list", undefined);
    const carol = users.items.find((u) => u.name === name)!;
    await page.getByLabel("For user").selectOption(carol.id);
    await page.getByLabel("Key name").fill("laptop");
    await page.getByRole("button", { name: "Create key" }).click();
    const keyReveal = page.getByRole("status").filter({ hasText: "laptop" });
    const laptopKey = (await keyReveal.getByTestId("new-api-key").innerText()).trim();
    expect(laptopKey).toMatch(/^pk_/);
    expect(laptopKey).not.toBe(memberKey);
    expect(await trpcCode(page.request, "query", "auth.me", undefined, laptopKey)).toBe("OK");

    // Revoke it: it no longer signs in.
    const keyRow = page.getByRole("row").filter({ hasText: "laptop" }).filter({ hasText: name });
    await keyRow.getByRole("button", { name: /^Revoke key laptop/ }).click();
    await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke key" }).click();
    await expect(keyRow).toContainText("Revoked");
    expect(await trpcCode(page.request, "query", "auth.me", undefined, laptopKey)).toBe("UNAUTHORIZED");

    const other = await browser.newContext();
    const visitor = await other.newPage();
    await visitor.goto("/signin");
    await visitor.getByLabel("API key").fill(laptopKey);
    await visitor.getByRole("button", { name: "Sign in" }).click();
    await expect(visitor.getByRole("alert").filter({ hasText: /unknown or revoked/i })).toBeVisible();
    await expect(visitor).toHaveURL(/\/signin$/);

    // The member's first key works, but /admin sends the member back to the chats.
    await visitor.getByLabel("API key").fill(memberKey);
    await visitor.getByRole("button", { name: "Sign in" }).click();
    await expect(visitor).toHaveURL(/\/$/);
    await visitor.goto("/admin");
    await expect(visitor).toHaveURL(/\/$/);
    await expect(visitor.getByRole("alert").filter({ hasText: "admin dashboard is for admins" })).toBeVisible();
    await expect(visitor.getByRole("link", { name: "Admin dashboard" })).toHaveCount(0);
    expect(await trpcCode(visitor.request, "query", "admin.stats", undefined, memberKey)).toBe("FORBIDDEN");
    await other.close();
  });

  test("the owner of default creates a tenant and sees its owner key once", async ({ page }) => {
    await signIn(page, BOOTSTRAP_KEY);
    await page.goto("/admin");
    await page.getByRole("tab", { name: "Tenants" }).click();
    const name = `acme-${Date.now().toString(36)}`;
    await page.getByLabel("Tenant name").fill(name);
    await page.getByRole("button", { name: "Create tenant" }).click();
    const reveal = page.getByRole("status").filter({ hasText: name });
    const key = (await reveal.getByTestId("new-api-key").innerText()).trim();
    const me = await trpc<{ tenant: { name: string }; user: { role: string } }>(page.request, "query", "auth.me", undefined, key);
    expect(me.tenant.name).toBe(name);
    expect(me.user.role).toBe("owner");
  });
});
