import { router } from "../trpc";
import { adminRouter } from "./admin";
import { authRouter } from "./auth";
import { chatRouter } from "./chat";
import { folderRouter } from "./folder";
import { knowledgeRouter } from "./knowledge";
import { messageRouter } from "./message";
import { sessionRouter } from "./session";
import { shareRouter } from "./share";

export const appRouter = router({
  auth: authRouter,
  session: sessionRouter,
  message: messageRouter,
  chat: chatRouter,
  admin: adminRouter,
  knowledge: knowledgeRouter,
  folder: folderRouter,
  share: shareRouter,
});
export type AppRouter = typeof appRouter;
