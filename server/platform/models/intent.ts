/**
 * What a question asks for, and which sentences state it. "Which setting…", "which file…", "how
 * long…", "怎么…", "应该更改哪些设定" are answered by a sentence that names a setting, a path, a
 * command or a number, which often shares few words with the question (a document describes a
 * problem at length, then names the fix in one sentence).
 */

export type FactKind = "setting" | "file" | "command" | "number";

const ALL_KINDS: readonly FactKind[] = ["setting", "file", "command", "number"];

/** Words that ask for one kind of fact, English and Chinese. */
const ASKED: [FactKind, RegExp][] = [
  ["setting", /\b(settings?|variables?|options?|env|environment|config(uration)?s?|parameters?|flags?)\b|设置|设定|配置|参数|变量/i],
  ["file", /\b(files?|paths?|director(y|ies)|folders?|where)\b|文件|路径|目录|哪里|在哪|哪儿/i],
  ["command", /\b(commands?|scripts?)\b|命令|脚本/i],
  ["number", /\bhow (long|many|much|often|soon|big|large)\b|\b(default|limit|maximum|minimum|port|timeout)s?\b|多久|多少|多长|多大|几[个秒分天次条字]|默认|上限|最多|最少|端口|超时/i],
];

/** Questions asking how to do something, or what to do, without naming what kind of fact answers. */
const ASKS_HOW = /^\s*how\b|\bhow (do|can|should|could|would|to)\b|\bwhat (should|do) (i|we)\b|怎么|如何|怎样|应该|应当/i;

/** The kinds of fact `question` asks for: the ones it names, else any for a "how / what should I" question, else none. */
export function askedFor(question: string): Set<FactKind> {
  const named = ASKED.filter(([, words]) => words.test(question)).map(([kind]) => kind);
  if (named.length > 0) return new Set(named);
  return new Set(ASKS_HOW.test(question) ? ALL_KINDS : []);
}

/** An environment variable (`STREAM_TTL_SECONDS`) or a name written as code (not a lone `#`). */
const SETTING = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|`[^`\n]*\w\w[^`\n]*`/;
/** A path with a slash (`deploy/nginx.conf`, `/etc/parley/parley.env`, `./.data/pglite`) or a file name with a known extension. */
const FILE = /(?:^|[\s`(（“"])(?:\.{1,2})?\/?[\w.-]+\/[\w./-]*\w|\b[\w-]+\.(?:md|ts|tsx|js|mjs|json|conf|env|ya?ml|toml|sh|sql|txt|html|pdf)\b/;
/** A command line: a known program at the start of a code span or of a sentence's clause. */
const COMMAND = /`(?:npm|npx|node|curl|git|docker|psql|redis-cli|systemctl|nginx|kill)\b[^`]*`|\bnpm (?:run|install|start|test)\b/;
/** A number standing on its own ("16", "3600 秒", "0.5"), not part of a name ("SHA-256", "v1"). */
const NUMBER = /(?<![\w.-])\d+(?:\.\d+)?(?![\w-])/;

const STATED: Record<FactKind, RegExp> = { setting: SETTING, file: FILE, command: COMMAND, number: NUMBER };

/** Whether `sentence` states a fact of one of `kinds`. */
export function statesAny(sentence: string, kinds: Set<FactKind>): boolean {
  return [...kinds].some((kind) => STATED[kind].test(sentence));
}
