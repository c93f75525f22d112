import { mkdirSync } from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { ask, createSession, lastAnswer, newUser, sendChat, signIn, waitForAnswer } from "./helpers";

/** Screenshots of the Chinese pages, for a person to look at (kept out of git like the others). */
const DIR = path.join(process.cwd(), "e2e", "screenshots");
const CJK = /[\u4e00-\u9fff]/;

const askInChinese = (page: Page, question: string) => ask(page, question, "消息");

test.describe("in Chinese (a zh-CN browser)", () => {
  test.use({ locale: "zh-CN" });

  test("sign in, ask in Chinese, see the answer stream, find the chat by a Chinese word, read the settings", async ({ page }) => {
    const user = await newUser(page.request);
    await page.goto("/signin");
    await expect(page).toHaveTitle("登录 · Parley");
    await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
    await expect(page.getByRole("heading", { name: "登录 Parley" })).toBeVisible();
    await page.getByLabel("API 密钥").fill(user.key);
    await page.getByRole("button", { name: "登录" }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { name: "有什么可以帮你？" })).toBeVisible();
    await expect(page.getByRole("button", { name: "刷新页面后回答如何保留？" })).toBeVisible();

    // The answer streams in: Stop offered while the text grows, then the composer is back.
    await askInChinese(page, "刷新页面以后，正在生成的回答会丢失吗？");
    const answer = lastAnswer(page);
    await expect(page.getByRole("button", { name: "停止回答" })).toBeVisible();
    await expect(answer).toHaveAttribute("data-status", "streaming");
    await expect(answer).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
    await expect(answer.getByTestId("assistant-content")).toHaveText(CJK);
    await expect(page.getByRole("textbox", { name: "消息" })).toBeEnabled();
    await expect(page.getByRole("textbox", { name: "消息" })).toHaveAttribute("placeholder", "给 Parley 发消息");

    // The sidebar: today's section, and a Chinese word of the question finds the chat.
    const sidebar = page.getByRole("complementary", { name: "对话侧边栏" });
    await expect(sidebar.getByRole("heading", { name: "今天" })).toBeVisible();
    await sidebar.getByRole("searchbox", { name: "搜索对话" }).fill("丢失");
    await expect(sidebar.getByRole("heading", { name: "搜索结果" })).toBeVisible();
    await expect(sidebar.locator(".list-count")).toHaveText("找到 1 个");
    await expect(sidebar.locator("[data-session-id]")).toHaveCount(1);
    await sidebar.getByRole("searchbox", { name: "搜索对话" }).fill("");

    // The settings panel: groups, the schema's fields and their hints in Chinese.
    await page.getByRole("button", { name: "对话设置" }).first().click();
    const settings = page.getByRole("dialog", { name: "对话设置" });
    await expect(settings.getByText("检索策略")).toBeVisible();
    await expect(settings.getByText("模型参数")).toBeVisible();
    await expect(settings.getByLabel("对话轮数")).toHaveValue("5");
    await expect(settings.locator("#hint-strategy\\.maxRounds")).toHaveText("模型能看到的先前轮次数量。 · 1–100 · 默认 5");
    await expect(settings.getByLabel("温度")).toBeVisible();
    await expect(settings.getByLabel("改写追问")).toBeChecked();
    await settings.getByLabel("对话轮数").fill("500");
    await settings.getByRole("button", { name: "保存" }).click();
    await expect(settings.getByText("请修正标红的 1 个字段。")).toBeVisible();
    await expect(settings.locator("#hint-strategy\\.maxRounds")).toHaveText("最大为 100");
    mkdirSync(DIR, { recursive: true });
    await page.screenshot({ path: path.join(DIR, "zh-settings-desktop.png") });
  });

  test("the admin and knowledge pages, with dates and numbers in Chinese", async ({ page }) => {
    const admin = await newUser(page.request, "admin", "zh-admin");
    const s = await createSession(page.request, admin.key, { title: "退款政策问题" });
    await sendChat(page.request, admin.key, s.id, "退款需要多久？");
    await waitForAnswer(page.request, admin.key, s.id);
    await signIn(page, admin.key);

    await page.goto("/admin");
    await expect(page).toHaveTitle("管理 · Parley");
    await expect(page.getByRole("tab", { name: "概览" })).toHaveAttribute("aria-selected", "true");
    await expect(page.getByRole("heading", { name: "每日会话数" })).toBeVisible();
    await expect(page.getByText("最近 30 天（UTC）")).toBeVisible();
    await page.getByRole("tab", { name: "会话" }).click();
    await expect(page.getByRole("heading", { name: "全部会话" })).toBeVisible();
    await expect(page.getByRole("columnheader", { name: "最近更新" })).toBeVisible();
    const row = page.getByRole("row").filter({ hasText: "退款政策问题" });
    await expect(row.getByRole("cell").nth(3)).toHaveText("2");
    // Today's update shows its time, as zh-CN writes it (24-hour "14:05").
    await expect(row.getByRole("cell").last()).toHaveText(/^\d{1,2}:\d{2}$/);
    await page.getByRole("tab", { name: "用户与密钥" }).click();
    await expect(page.getByRole("heading", { name: "用户", exact: true })).toBeVisible();
    await expect(page.getByRole("heading", { name: "API 密钥" })).toBeVisible();
    await expect(page.getByRole("row").filter({ hasText: admin.name }).getByText("管理员", { exact: true })).toBeVisible();
    await page.getByRole("tab", { name: "概览" }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
    mkdirSync(DIR, { recursive: true });
    await page.screenshot({ path: path.join(DIR, "zh-admin-desktop.png"), fullPage: true });

    await page.goto("/knowledge");
    await expect(page).toHaveTitle("知识库 · Parley");
    await expect(page.getByRole("heading", { level: 1, name: "知识库" })).toBeVisible();
    await expect(page.getByRole("button", { name: "新建知识库" })).toBeVisible();
    const detail = page.getByRole("main");
    await expect(detail.getByRole("heading", { name: "文档" })).toBeVisible();
    await expect(detail.getByRole("heading", { name: "搜索" })).toBeVisible();
    await expect(detail.getByTestId("base-counts")).toHaveText(/^\d+ 个文档 · [\d,]+ 个分块 · 创建于 /);
    await page.screenshot({ path: path.join(DIR, "zh-knowledge-desktop.png"), fullPage: true });
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto("/knowledge");
    await expect(page.getByRole("heading", { level: 1, name: "知识库" })).toBeVisible();
    await page.screenshot({ path: path.join(DIR, "zh-knowledge-mobile.png") });
  });

  test("screenshots of the Chinese chat, desktop and 375px", async ({ page }) => {
    const user = await newUser(page.request);
    for (const title of ["季度报告草稿", "入职清单"]) await createSession(page.request, user.key, { title });
    const s = await createSession(page.request, user.key);
    await sendChat(page.request, user.key, s.id, "会话上下文在Redis中的默认过期时间是多少？");
    await waitForAnswer(page.request, user.key, s.id);
    await signIn(page, user.key);
    mkdirSync(DIR, { recursive: true });
    for (const [name, size] of [["desktop", { width: 1280, height: 800 }], ["mobile", { width: 375, height: 812 }]] as const) {
      await page.setViewportSize(size);
      await page.goto(`/?c=${s.id}`);
      await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed");
      await expect(page.getByRole("heading", { level: 1 })).toHaveText(CJK);
      await page.screenshot({ path: path.join(DIR, `zh-chat-${name}.png`) });
      if (name === "mobile") {
        await page.getByRole("button", { name: "打开侧边栏" }).click();
        await expect(page.getByRole("button", { name: "关闭侧边栏" })).toBeVisible();
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(DIR, "zh-drawer-mobile.png") });
      }
    }
  });
});

test.describe("the language switch", () => {
  test.use({ locale: "en-US" });

  test("follows the browser by default, and a choice in the account menu is remembered across reloads", async ({ page, context }) => {
    const user = await newUser(page.request);
    await signIn(page, user.key);
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();

    await page.getByRole("button", { name: "Language" }).click();
    await expect(page.getByRole("menuitemradio", { name: "English" })).toHaveAttribute("aria-checked", "true");
    await page.getByRole("menuitemradio", { name: "简体中文" }).click();
    await expect(page.getByRole("heading", { name: "有什么可以帮你？" })).toBeVisible();
    expect((await context.cookies()).find((c) => c.name === "NEXT_LOCALE")?.value).toBe("zh");

    await page.reload();
    await expect(page.getByRole("heading", { name: "有什么可以帮你？" })).toBeVisible();
    await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
    // Every page of the app, server-rendered or not, follows the choice.
    await page.goto("/knowledge");
    await expect(page.getByRole("heading", { level: 1, name: "知识库" })).toBeVisible();

    await page.getByRole("button", { name: "语言" }).click();
    await page.getByRole("menuitemradio", { name: "English" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Knowledge bases" })).toBeVisible();
    await page.reload();
    await expect(page.getByRole("heading", { level: 1, name: "Knowledge bases" })).toBeVisible();
  });
});
