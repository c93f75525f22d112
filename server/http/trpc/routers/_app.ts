import { router } from "../trpc";
import { adminRouter } from "./admin";
import { authRouter } from "./auth";
import { chatRouter } from "./chat";
import { knowledgeRouter } from "./knowledge";
import { messageRouter } from "./message";
import { sessionRouter } from "./session";

export const appRouter = router({
  auth: authRouter,
  session: sessionRouter,
  message: messageRouter,
  chat: chatRouter,
  admin: adminRouter,
  knowledge: knowledgeRouter,
});
export type AppRouter = typeof appRouter;
