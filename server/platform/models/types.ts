import type { Reference, Usage } from "../../../common/settings";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerateOptions {
  messages: ChatMessage[];
  /** Retrieved sources the answer should rest on (may be empty). */
  references: Reference[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
  signal: AbortSignal;
}

export type GenerationChunk = { type: "delta"; text: string } | { type: "usage"; usage: Usage };

/** A chat model. `stream` yields text deltas as they come, then usage when known. */
export interface ChatModel {
  /** Shown to users: which model answered. */
  readonly name: string;
  readonly offline: boolean;
  /**
   * Once `signal` aborts, a pending or later `next()` rejects with the signal's reason and the
   * model's request is closed: the answer's stop, idle timeout and deadline rely on it (no
   * wrapper races each chunk against the signal).
   */
  stream(options: GenerateOptions): AsyncIterable<GenerationChunk>;
  /** A whole completion (titles, summaries). */
  complete(options: Omit<GenerateOptions, "references">): Promise<string>;
}
