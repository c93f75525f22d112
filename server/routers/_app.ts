import { router } from "../trpc";
import { adminRouter } from "./admin";
import { authRouter } from "./auth";
import { chatRouter } from "./chat";
import { messageRouter } from "./message";
import { sessionRouter } from "./session";

export const appRouter = router({
  auth: authRouter,
  session: sessionRouter,
  message: messageRouter,
  chat: chatRouter,
  admin: adminRouter,
});
export type AppRouter = typeof appRouter;
