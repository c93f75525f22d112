// Run against a live Parley: PARLEY_URL=http://localhost:3000 PARLEY_KEY=pk_… node --import tsx client/example.ts
// (in this repository "@parley/sdk" is client/index.ts, by tsconfig's paths)
import { createParley } from "@parley/sdk";

const parley = createParley({ url: process.env.PARLEY_URL ?? "http://localhost:3000", apiKey: process.env.PARLEY_KEY! });

const session = await parley.client.session.create.mutate({ title: "SDK example" });
for await (const event of parley.ask(session.id, "How do I scale Parley out?")) {
  if (event.type === "answer") process.stdout.write(event.delta);
  if (event.type === "complete") console.log(`\n— ${event.model}, ${event.durationMs} ms`);
}
let count = 0;
for await (const s of parley.sessions()) count += s.title === "SDK example" ? 1 : 0;
console.log(`sessions titled "SDK example": ${count}`);
