// `npm run lint`: type-aware rules over every TypeScript file, with the same tsconfig.json as tsc
// (the project service finds it), so both see `noUncheckedIndexedAccess` alike.
import drizzle from "eslint-plugin-drizzle";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** The names a Drizzle database or transaction goes by here (`db`, `deps.db`, `handle.db`, `tx`). */
const drizzleObjectName = ["db", "tx"];

/**
 * The folder rules (server/architecture.test.ts checks the same over the whole graph): a specifier
 * that reaches into one of `folders` under server/, relatively or through `@/`.
 */
const into = (folders, message, allowTypeImports = false) => ({
  regex: `^(@/server/|(\\.\\./)+)(${folders.join("|")})(/|$)`,
  message,
  allowTypeImports,
});
const restrict = (...patterns) => ({ "@typescript-eslint/no-restricted-imports": ["error", { patterns }] });
const features = ["chat", "sessions", "auth", "knowledge"];
const entryPointsOnly = "server/boot is the composition root and server/testing is test support: only entry points and tests import them.";
const facesOnTop = "The features never import the faces (server/http) that call them.";
/** Where a folder rule does not apply: tests reach everywhere. */
const tests = ["**/*.test.ts", "**/*.test.tsx"];

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
    // The faces hand the App to the routers (its type), but only entry points build it.
    files: ["server/http/**/*.ts"],
    ignores: tests,
    rules: restrict(into(["boot"], entryPointsOnly, true), into(["testing"], entryPointsOnly)),
  },
  {
    files: features.map((feature) => `server/${feature}/**/*.ts`),
    ignores: tests,
    rules: restrict(into(["boot", "testing"], entryPointsOnly), into(["http"], facesOnTop)),
  },
  {
    files: ["server/platform/**/*.ts"],
    ignores: tests,
    rules: restrict(into(["boot", "testing"], entryPointsOnly), into(["http", ...features], "server/platform sits below the features: it names none of them.")),
  },
  {
    files: ["common/**/*.ts"],
    ignores: tests,
    rules: restrict({ regex: "^(@/|\\.\\./)", message: "common/ holds values the server, the browser and the SDK share: it imports nothing of theirs." }),
  },
  {
    files: ["db/**/*.ts"],
    ignores: tests,
    rules: restrict({ regex: "^(@/|(\\.\\./)+)(server|client|app)/", message: "db/ is the schema: it reads only common/." }),
  },
  {
    // Code that ships to the browser or in the SDK package takes only types from server/ and db/
    // (values all three share, like the settings schemas the form is built from, live in common/).
    files: ["app/**/*.ts", "app/**/*.tsx", "client/index.ts"],
    // The Next server components' ways to the App (the sign-in check, a shared conversation) run on the server, in the App's process.
    ignores: [...tests, "app/_components/serverAuth.ts", "app/_components/serverShare.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
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
