import { getApp } from "@/server/app";
import { handleUpload } from "@/server/knowledge/upload";

export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  return handleUpload(await getApp(), request);
}
