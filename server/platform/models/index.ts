import { createOfflineModel } from "./offline";
import { createOpenAIModel } from "./openai";
import type { ChatModel } from "./types";

export interface ModelEnv {
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  PARLEY_CHAT_MODEL?: string;
  PARLEY_SUMMARY_MODEL?: string;
  PARLEY_OFFLINE_TOKEN_DELAY_MS: number;
  /** Also how long one request to the model server may wait for its response. */
  PARLEY_MODEL_IDLE_SECONDS: number;
}

/**
 * The chat model and the summary model: an OpenAI-compatible server when one is configured
 * (a server and a chat model name), else the built-in offline model for both.
 */
export function createModels(env: ModelEnv): { chat: ChatModel; summary: ChatModel } {
  const { OPENAI_BASE_URL: baseURL, OPENAI_API_KEY: apiKey, PARLEY_CHAT_MODEL: chatModel } = env;
  if ((baseURL || apiKey) && chatModel) {
    const timeoutMs = env.PARLEY_MODEL_IDLE_SECONDS * 1000;
    const chat = createOpenAIModel({ baseURL, apiKey, model: chatModel, timeoutMs });
    const summaryModel = env.PARLEY_SUMMARY_MODEL;
    const summary = summaryModel && summaryModel !== chatModel ? createOpenAIModel({ baseURL, apiKey, model: summaryModel, timeoutMs }) : chat;
    return { chat, summary };
  }
  const offline = createOfflineModel({ tokenDelayMs: env.PARLEY_OFFLINE_TOKEN_DELAY_MS });
  return { chat: offline, summary: offline };
}
