import type { ProfileWindow } from "./cpuprofile";
import type { Summary } from "./stats";
import type { Target } from "./target";

/** Sizes of one run: `--quick` keeps the whole bench under two minutes. */
export interface Sizes {
  latencyWarmup: number;
  latencySamples: number;
  rounds: number;
  resumeWarmup: number;
  resumeSamples: number;
  throughputEvents: number;
  throughputRounds: number;
  realAnswers: number;
  createOps: number;
  createRounds: number;
  concurrency: number[];
  listSessions: number;
  listMessages: number;
  listSamples: number;
  idleSubscribers: number;
  fanout: number;
  fanoutEvents: number;
  /** Scenario 9: clients at once, and questions each asks in turn, through nginx. */
  soakSessions: number;
  soakQuestions: number;
}

export const QUICK: Sizes = {
  latencyWarmup: 30,
  latencySamples: 100,
  rounds: 3,
  resumeWarmup: 5,
  resumeSamples: 20,
  throughputEvents: 3000,
  throughputRounds: 2,
  realAnswers: 5,
  createOps: 500,
  createRounds: 3,
  concurrency: [1, 8, 32],
  listSessions: 100_000,
  listMessages: 10_000,
  listSamples: 30,
  idleSubscribers: 200,
  fanout: 50,
  fanoutEvents: 20,
  soakSessions: 20,
  soakQuestions: 5,
};

export const FULL: Sizes = {
  latencyWarmup: 100,
  latencySamples: 300,
  rounds: 5,
  resumeWarmup: 20,
  resumeSamples: 60,
  throughputEvents: 20_000,
  throughputRounds: 5,
  realAnswers: 20,
  createOps: 800,
  createRounds: 3,
  concurrency: [1, 8, 32],
  listSessions: 1_000_000,
  listMessages: 100_000,
  listSamples: 100,
  idleSubscribers: 1000,
  fanout: 100,
  fanoutEvents: 50,
  soakSessions: 100,
  soakQuestions: 10,
};

export interface Ctx {
  quick: boolean;
  sizes: Sizes;
  redisUrl: string;
  /** The run's Redis key prefix (Parley's keys and the raw baseline's live under it). */
  prefix: string;
  databaseUrl: string;
  target: Target;
  /** Figures kept for later scenarios (the embedded and peer tables show Parley's beside theirs). */
  figures: Map<string, Summary>;
  log(message: string): void;
  /** Stretches a scenario marks for `--profile`: the report summarises the server's profile inside each. */
  profileWindows: ProfileWindow[];
  /** Starts another Parley on Postgres + Redis (same database and prefix, more env and Node flags if given), for scenarios that need a fresh process. */
  freshTarget?: (extraEnv?: Record<string, string>, nodeArgs?: string[]) => Promise<Target>;
}
