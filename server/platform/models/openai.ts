import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { ChatModel, GenerateOptions } from "./types";

/** How long the model server may keep a request waiting by default (PARLEY_MODEL_IDLE_SECONDS in the App). */
export const MODEL_TIMEOUT_MS = 60_000;

/**
 * A model on any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp). Every request has a
 * timeout and the caller's abort signal: a stream's response must begin within `timeoutMs` (its
 * tokens are then paced by the answer's own idle timeout, see generate.ts), and a whole completion
 * must arrive within it.
 */
export function createOpenAIModel({ baseURL, apiKey, model, timeoutMs = MODEL_TIMEOUT_MS }: { baseURL?: string; apiKey?: string; model: string; timeoutMs?: number }): ChatModel {
  const client = new OpenAI({
    baseURL,
    // Local servers need no key, but the SDK refuses to start without one.
    apiKey: apiKey || "none",
    // One quick retry for whole completions (titles, summaries); streams never retry (below).
    maxRetries: 1,
    timeout: timeoutMs,
  });

  return {
    name: model,
    offline: false,

    async *stream(options) {
      const { signal } = options;
      try {
        const chunks = await client.chat.completions.create(
          { ...requestBody(model, options), stream: true, stream_options: { include_usage: true } },
          // Streams fail fast: the caller marks the message failed instead of keeping the user
          // waiting through retry back-offs.
          { signal, maxRetries: 0 },
        );
        let finished = false;
        for await (const chunk of chunks) {
          const choice = chunk.choices[0];
          if (choice?.delta?.content) yield { type: "delta", text: choice.delta.content };
          if (choice?.finish_reason) finished = true;
          if (chunk.usage) {
            const { prompt_tokens, completion_tokens, total_tokens } = chunk.usage;
            yield { type: "usage", usage: { promptTokens: prompt_tokens, completionTokens: completion_tokens, totalTokens: total_tokens } };
          }
        }
        // The SDK ends a stream quietly on abort, and a proxy may close one cleanly mid-answer.
        signal.throwIfAborted();
        if (!finished) throw new Error("The model's stream ended before the answer was finished.");
      } catch (error) {
        signal.throwIfAborted();
        throw error;
      }
    },

    async complete(options) {
      const signal = AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]);
      const completion = await client.chat.completions.create(requestBody(model, options), { signal });
      return completion.choices[0]?.message?.content ?? "";
    },
  };
}

/**
 * Sampling options as chat-completion fields. `max_tokens` rather than `max_completion_tokens`:
 * Ollama, vLLM and llama.cpp read the former. A `top_p` or `seed` of 0 means "the server's default"
 * (WeKnora's convention), so it is left out rather than sent.
 */
function requestBody(model: string, options: Omit<GenerateOptions, "references">): ChatCompletionCreateParamsNonStreaming {
  const { messages, temperature, maxTokens, topP, seed, frequencyPenalty, presencePenalty } = options;
  const body: ChatCompletionCreateParamsNonStreaming = { model, messages };
  if (temperature !== undefined) body.temperature = temperature;
  if (maxTokens && maxTokens > 0) body.max_tokens = maxTokens;
  if (topP && topP > 0) body.top_p = topP;
  if (seed && seed > 0) body.seed = seed;
  if (frequencyPenalty) body.frequency_penalty = frequencyPenalty;
  if (presencePenalty) body.presence_penalty = presencePenalty;
  return body;
}
