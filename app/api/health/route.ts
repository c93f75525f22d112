import { getApp } from "@/server/app";
import { checkHealth } from "@/server/health";

export const dynamic = "force-dynamic";

export async function GET() {
  const health = await getApp().then(checkHealth, (error: Error) => ({
    status: "error" as const,
    failing: ["startup"],
    message: error.message,
  }));
  return Response.json(health, { status: health.status === "ok" ? 200 : 503 });
}
