import { z } from "zod";
import { text } from "../../../../common/inputs";
import { createFolder, deleteFolder, listFolders, renameFolder } from "../../../sessions/folders";
import { authedProcedure, router } from "../trpc";

const name = text().trim().min(1).max(100);

/** The caller's own folders of sessions. */
export const folderRouter = router({
  list: authedProcedure.query(({ ctx }) => listFolders(ctx.app.db, ctx.me)),
  create: authedProcedure.input(z.object({ name })).mutation(({ ctx, input }) => createFolder(ctx.app.db, ctx.me, input.name)),
  rename: authedProcedure.input(z.object({ id: z.uuid(), name })).mutation(({ ctx, input }) => renameFolder(ctx.app.db, ctx.me, input.id, input.name)),
  delete: authedProcedure.input(z.object({ id: z.uuid() })).mutation(({ ctx, input }) => deleteFolder(ctx.app.db, ctx.me, input.id)),
});
