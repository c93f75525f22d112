/** Next calls this once per server start: migrate, bootstrap and print the sign-in link before serving. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getApp } = await import("./server/app");
  try {
    await getApp();
  } catch (error) {
    console.error(`[parley] ${(error as Error).message}`);
    process.exit(1);
  }
}
