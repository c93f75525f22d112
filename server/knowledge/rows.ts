import type { SQL } from "drizzle-orm";
import type { Db } from "../../db";

/** Rows of a raw query on either driver (postgres-js returns an array, PGlite `{ rows }`). */
export async function selectRows<T>(db: Pick<Db, "execute">, query: SQL): Promise<T[]> {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- Db is a union of two drivers: this is what either returns
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}
