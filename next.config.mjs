import createNextIntlPlugin from "next-intl/plugin";

/** next-intl reads each request's locale and messages from ./i18n/request.ts. */
const withNextIntl = createNextIntlPlugin("./i18n/request.ts");

/** @type {import('next').NextConfig} */
const nextConfig = {
  // PGlite ships WASM and data files that must be loaded from node_modules, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "@electric-sql/pglite-pgvector", "ioredis", "postgres", "gpt-tokenizer", "unpdf", "turndown"],
  poweredByHeader: false,
  reactStrictMode: true,
  // `npm run lint` (eslint.config.mjs) lints every file before the build; Next need not lint again.
  eslint: { ignoreDuringBuilds: true },
};
export default withNextIntl(nextConfig);
