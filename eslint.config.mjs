// `npm run lint`: type-aware rules over every TypeScript file, with the same tsconfig.json as tsc
// (the project service finds it), so both see `noUncheckedIndexedAccess` alike.
import drizzle from "eslint-plugin-drizzle";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** The names a Drizzle database or transaction goes by here (`db`, `deps.db`, `handle.db`, `tx`). */
const drizzleObjectName = ["db", "tx"];

/** Modules that may import the composition root: the same list as server/architecture.test.ts, plus tests. */
const compositionRootImporters = [
  "server/boot/main.ts",
  "server/boot/host.ts",
  "server/http/routes.ts",
  "server/testing/testApp.ts",
  "server/http/trpc/trpc.ts",
  // The Next server components' sign-in check: it runs on the server, in the App's process.
  "app/_components/serverAuth.ts",
  "**/*.test.ts",
];

const compositionRoot = {
  regex: "(^@/server/boot/app$|(^|/)boot/app$|^\\./app$)",
  message: "server/boot/app.ts is the composition root: only entry points import it (see server/architecture.test.ts).",
};

export default defineConfig(
  { ignores: ["node_modules/", ".next/", "build/", "dist/", "test-results/", "playwright-report/", "next-env.d.ts", "**/*.mjs"] },
  {
    files: ["**/*.ts", "**/*.tsx"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { drizzle },
    rules: {
      "drizzle/enforce-delete-with-where": ["error", { drizzleObjectName }],
      "drizzle/enforce-update-with-where": ["error", { drizzleObjectName }],
      // `async` on a method that does not await keeps the async interface's contract (a throw becomes a
      // rejection), as the in-process store and the fakes implementing the Redis-backed interfaces rely on.
      "@typescript-eslint/require-await": "off",
      // `_`-prefixed names are deliberately unused (a parameter kept for its position, a field left out of a rest).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read JSON bodies (`any`) and assert on their fields: the assertions are the type check there.
    files: ["**/*.test.ts", "e2e/**/*.spec.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // The rules of hooks. The plugin's React Compiler rules (set-state-in-effect, refs, …) are left out:
    // the app does not build with the compiler, and rewriting its effects for it would change behaviour.
    files: ["app/**/*.tsx", "app/**/*.ts"],
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
  {
    // Only entry points build or reach the App; everything else takes its narrow dependencies.
    files: ["**/*.ts", "**/*.tsx"],
    ignores: compositionRootImporters,
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { patterns: [compositionRoot] }] },
  },
  {
    // Code that ships to the browser or in the SDK package takes only types from server/ and db/
    // (values all three share, like the settings schemas the form is built from, live in common/).
    files: ["app/**/*.ts", "app/**/*.tsx", "client/index.ts"],
    ignores: compositionRootImporters,
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            compositionRoot,
            {
              regex: "^(@/|(\\.\\./)+)(server|db)/",
              allowTypeImports: true,
              message: "Browser and SDK code imports only types from server/ and db/ (they would bundle the server).",
            },
          ],
        },
      ],
    },
  },
);
