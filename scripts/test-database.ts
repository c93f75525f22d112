import type { TestProject } from "vitest/node";
import { createFreshDatabase } from "./localServers";

/** A fresh Postgres database for this run, dropped afterwards, so runs never see each other's rows. */
export const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export default async function setup(project: TestProject) {
  const database = await createFreshDatabase(adminUrl, "parley_test");
  project.provide("databaseUrl", database.url);
  return () => database.drop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
