import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { and, eq, notInArray, sql } from "drizzle-orm";
import type { Db } from "../../db";
import { knowledgeBases, knowledgeDocuments, tenants } from "../../db/schema";
import { DEFAULT_TENANT } from "../auth/accounts";
import { chunkBlocks } from "./chunk";
import { parseText } from "./parse";
import { indexDocument, sha256Hex } from "./repository";
import type { KnowledgeDeps } from "./retrieve";

/**
 * The first-run knowledge base: Parley's own docs (the handbook in English and in Chinese, and the
 * README), in tenant `default`, attached to its new sessions, so a newcomer's first question, in
 * either language, gets a cited answer with no set-up. Kept in sync with the docs at every start
 * (a changed file is re-indexed, a new one indexed, an unchanged one left alone).
 */

const HANDBOOK = "handbook";
export const HANDBOOK_BASE_NAME = "Parley handbook";
export const HANDBOOK_DOCUMENTS = [
  { title: "Parley handbook", file: "docs/handbook.md" },
  { title: "Parley 使用手册", file: "docs/handbook.zh.md" },
  { title: "Parley README", file: "README.md" },
] as const;

/** Any constant of Parley's own: serialises concurrent first starts of several instances. */
const HANDBOOK_LOCK = 7461502;

/** Creates or refreshes the handbook base of tenant `default`; returns its id (null without that tenant). */
export async function ensureHandbookBase(deps: KnowledgeDeps): Promise<string | null> {
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${HANDBOOK_LOCK})`);
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, DEFAULT_TENANT));
    if (!tenant) return null;
    const [existing] = await tx
      .select({ id: knowledgeBases.id })
      .from(knowledgeBases)
      .where(and(eq(knowledgeBases.tenantId, tenant.id), eq(knowledgeBases.builtin, HANDBOOK)));
    const baseId =
      existing?.id ??
      (
        await tx
          .insert(knowledgeBases)
          .values({
            tenantId: tenant.id,
            builtin: HANDBOOK,
            name: HANDBOOK_BASE_NAME,
            description: "Parley's own documentation, kept up to date by Parley: how to use, run and scale it.",
          })
          .returning({ id: knowledgeBases.id })
      )[0]!.id; // insert … returning gives the one row inserted

    const txDeps = { ...deps, db: tx as unknown as Db };
    const present = HANDBOOK_DOCUMENTS.filter((d) => existsSync(path.resolve(d.file)));
    for (const doc of present) {
      const text = readFileSync(path.resolve(doc.file), "utf8");
      const hash = sha256Hex(text);
      const [current] = await tx
        .select({ id: knowledgeDocuments.id, contentHash: knowledgeDocuments.contentHash })
        .from(knowledgeDocuments)
        .where(and(eq(knowledgeDocuments.knowledgeBaseId, baseId), eq(knowledgeDocuments.title, doc.title)));
      if (current?.contentHash === hash) continue;
      if (current) await tx.delete(knowledgeDocuments).where(eq(knowledgeDocuments.id, current.id));
      const document = { title: doc.title, mimeType: "text/markdown", fileName: path.basename(doc.file), sizeBytes: Buffer.byteLength(text), contentHash: hash, chunks: chunkBlocks(parseText(text, "text/markdown")) };
      await indexDocument(txDeps, { tenantId: tenant.id, knowledgeBaseId: baseId, createdBy: null }, document);
    }
    // Documents no longer shipped leave the base.
    await tx.delete(knowledgeDocuments).where(
      and(
        eq(knowledgeDocuments.knowledgeBaseId, baseId),
        notInArray(
          knowledgeDocuments.title,
          present.map((d) => d.title),
        ),
      ),
    );
    return baseId;
  });
}

/** The handbook base of a tenant, if it has one. It never changes id (it is read-only), so each process looks it up once per tenant. */
const handbookIds = new WeakMap<Db, Map<string, string>>();

export async function handbookBaseId(db: Db, tenantId: string): Promise<string | null> {
  const known = handbookIds.get(db)?.get(tenantId);
  if (known) return known;
  const [base] = await db
    .select({ id: knowledgeBases.id })
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.tenantId, tenantId), eq(knowledgeBases.builtin, HANDBOOK)));
  if (base) handbookIds.set(db, (handbookIds.get(db) ?? new Map<string, string>()).set(tenantId, base.id));
  return base?.id ?? null;
}
