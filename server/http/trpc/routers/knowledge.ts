import { z } from "zod";
import { text } from "../../../../common/inputs";
import { addTextDocument, MAX_DOCUMENT_BYTES } from "../../../knowledge/ingest";
import { TEXT_FORMATS } from "../../../knowledge/parse";
import { createBase, deleteBase, deleteDocument, listBases, listDocuments, updateBase } from "../../../knowledge/repository";
import { knowledgeDeps, searchForCaller } from "../../../knowledge/sessionKnowledge";
import { authedProcedure, router } from "../trpc";

const id = z.uuid();
const name = text().trim().min(1).max(100);
const description = text().max(2000);

export const knowledgeRouter = router({
  bases: router({
    list: authedProcedure.query(async ({ ctx }) => ({ items: await listBases(ctx.app.db, ctx.me) })),
    create: authedProcedure.input(z.object({ name, description: description.optional() })).mutation(({ ctx, input }) => createBase(ctx.app.db, ctx.me, input)),
    update: authedProcedure
      .input(z.object({ id, name: name.optional(), description: description.optional() }))
      .mutation(({ ctx, input: { id, ...patch } }) => updateBase(ctx.app.db, ctx.me, id, patch)),
    delete: authedProcedure.input(z.object({ id })).mutation(({ ctx, input }) => deleteBase(ctx.app.db, ctx.me, input.id)),
  }),
  documents: router({
    add: authedProcedure
      .input(
        z.object({
          knowledgeBaseId: id,
          title: text().trim().min(1).max(255),
          content: text()
            .min(1)
            .refine((s) => Buffer.byteLength(s, "utf8") <= MAX_DOCUMENT_BYTES, `At most ${MAX_DOCUMENT_BYTES} bytes (5 MB) of UTF-8`),
          mimeType: z.enum(TEXT_FORMATS),
        }),
      )
      .mutation(({ ctx, input }) => addTextDocument(knowledgeDeps(ctx.app), ctx.me, input)),
    list: authedProcedure
      .input(z.object({ knowledgeBaseId: id }))
      .query(async ({ ctx, input }) => ({ items: await listDocuments(ctx.app.db, ctx.me, input.knowledgeBaseId) })),
    delete: authedProcedure.input(z.object({ id })).mutation(({ ctx, input }) => deleteDocument(ctx.app.db, ctx.me, input.id)),
  }),
  search: authedProcedure
    .input(z.object({ knowledgeBaseIds: z.array(id).min(1).max(50), query: text().trim().min(1).max(2000), sessionId: id.optional() }))
    .query(({ ctx, input }) => searchForCaller(ctx.app, ctx.me, input)),
});
