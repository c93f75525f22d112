import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { createChatStreamer } from "./chatStream";
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
    // One quick retry for whole completions (titles, summaries); streams never retry.
    maxRetries: 1,
    timeout: timeoutMs,
  });
  // Streams bypass the SDK (chatStream.ts) but go where it would: the same URL (its baseURL
  // default and OPENAI_BASE_URL included) with the same credentials.
  const streamChat = createChatStreamer({
    url: client.buildURL("/chat/completions", undefined),
    headers: {
      authorization: `Bearer ${client.apiKey}`,
      ...(client.organization && { "openai-organization": client.organization }),
      ...(client.project && { "openai-project": client.project }),
    },
    timeoutMs,
  });

  return {
    name: model,
    offline: false,

    stream(options) {
      return streamChat({ ...requestBody(model, options), stream: true, stream_options: { include_usage: true } }, options.signal);
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
