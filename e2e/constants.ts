/** The owner key of tenant `default` in the e2e server (PARLEY_BOOTSTRAP_KEY, at least 32 characters). */
export const BOOTSTRAP_KEY = "pk_e2e_bootstrap_owner_key_0123456789_abcdefghijkl";
/** The e2e server's port: `PARLEY_E2E_PORT` lets two checkouts run their browser tests at once. */
export const E2E_PORT = Number(process.env.PARLEY_E2E_PORT ?? 3211);
export const OFFLINE_MODEL = "Parley offline model (built-in)";
