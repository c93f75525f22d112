import { isTRPCClientError } from "@trpc/client";

/** The tRPC error code of an error, if it is one (UNAUTHORIZED, NOT_FOUND, CONFLICT…). */
export function errorCode(error: unknown): string | undefined {
  if (isTRPCClientError(error)) return (error.data as { code?: string } | undefined)?.code;
  return undefined;
}

/** A sentence for people, from a tRPC or network error. */
export function errorMessage(error: unknown): string {
  if (!error) return "";
  const code = errorCode(error);
  if (isTRPCClientError(error)) {
    const fieldErrors = (error.data as { zodError?: { fieldErrors?: Record<string, string[] | undefined> } | null } | undefined)
      ?.zodError?.fieldErrors;
    const first = fieldErrors && Object.entries(fieldErrors).find(([, v]) => v && v.length);
    if (code === "BAD_REQUEST" && first) return `${first[0]}: ${first[1]![0]}`;
    if (code === "UNAUTHORIZED") return error.message || "This API key is unknown or revoked.";
    if (code === "SERVICE_UNAVAILABLE") return "Parley is unavailable right now. Try again in a moment.";
    if (error.message && !/^(fetch failed|Failed to fetch)$/i.test(error.message)) return error.message;
  }
  if (error instanceof Error && /fetch|network/i.test(error.message)) return "Could not reach Parley. Check your connection.";
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever was thrown, as text
  return error instanceof Error ? error.message : String(error);
}
