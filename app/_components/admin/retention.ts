/** The server's bound on a tenant's retention (a hundred years). */
export const MAX_RETENTION_DAYS = 36_500;

/**
 * The retention field's text as days: null when empty (keep forever), undefined when it is not a
 * number of days above 0 and at most MAX_RETENTION_DAYS. Fractions are allowed, with a point or a comma.
 */
export function retentionDaysOf(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const days = Number(trimmed.replace(",", "."));
  return Number.isFinite(days) && days > 0 && days <= MAX_RETENTION_DAYS ? days : undefined;
}
