import { describe, expect, it } from "vitest";
import { rewriteFollowUp, standaloneQuestion } from "./rewrite";
import type { ChatModel } from "../platform/models/types";

describe("rewriteFollowUp (offline)", () => {
  const previous = "How do I resume a dropped stream?";

  it("adds the previous question's key words to a question that points back", () => {
    expect(rewriteFollowUp("How do I stop it?", previous)).toBe("How do I stop it? resume dropped stream");
    expect(rewriteFollowUp("And for admins?", previous)).toBe("And for admins? resume dropped stream");
    expect(rewriteFollowUp("Pricing?", previous)).toBe("Pricing? resume dropped stream");
  });

  it("leaves a standalone question, or a first question, as it is", () => {
    expect(rewriteFollowUp("How do I scale Parley out?", previous)).toBe("How do I scale Parley out?");
    expect(rewriteFollowUp("What is the default stream TTL?", previous)).toBe("What is the default stream TTL?");
    expect(rewriteFollowUp("How do I stop it?", null)).toBe("How do I stop it?");
  });

  it("carries only words the question lacks", () => {
    expect(rewriteFollowUp("Can I resume it?", previous)).toBe("Can I resume it? dropped stream");
  });
});

describe("standaloneQuestion", () => {
  const turn = { question: "How do I resume a dropped stream?", answer: "From the last event id." };
  const signal = new AbortController().signal;
  const model = (complete: ChatModel["complete"], offline = false): ChatModel => ({ name: "m", offline, stream: () => (async function* () {})(), complete });

  it("asks an online model, with the previous turn, for a standalone question", async () => {
    let seen: Parameters<ChatModel["complete"]>[0] | undefined;
    const rewritten = await standaloneQuestion(
      model(async (options) => {
        seen = options;
        return "How do I stop a dropped stream from resuming?\n(extra)";
      }),
      "How do I stop it?",
      turn,
      signal,
    );
    expect(rewritten).toBe("How do I stop a dropped stream from resuming?");
    expect(seen!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(seen!.messages.at(-1)!.content).toBe("How do I stop it?");
  });

  it("falls back to the offline rule when the model fails, and uses it directly offline", async () => {
    const failing = model(async () => {
      throw new Error("down");
    });
    expect(await standaloneQuestion(failing, "How do I stop it?", turn, signal)).toBe("How do I stop it? resume dropped stream");
    const offline = model(async () => "never asked", true);
    expect(await standaloneQuestion(offline, "How do I stop it?", turn, signal)).toBe("How do I stop it? resume dropped stream");
    expect(await standaloneQuestion(offline, "How do I stop it?", null, signal)).toBe("How do I stop it?");
  });
});
