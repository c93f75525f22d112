/**
 * Chinese text has no spaces between words, so everything that splits text into words goes
 * through here.
 *
 * In the database, full-text columns index Han text character by character: the generated
 * columns run their text through `spacedHanSql` first, which puts spaces around every Han
 * character and turns CJK punctuation into spaces, so `会话上下文在Redis中` indexes as
 * `会 话 上 下 文 在 Redis 中` (Postgres' parsers otherwise read a run of Han characters, and in a
 * C locale any ASCII word touching one, as a single token). Nothing is written by the app, so
 * every write stays one statement and the migration that changed the expression reindexed
 * every row.
 *
 * In the application, and for every query, Han runs are segmented into dictionary words by ICU
 * (`Intl.Segmenter`), and a Han word is searched as the phrase of its characters
 * (`过期` → `过 <-> 期`): it matches the word wherever it stands inside a run, however the
 * surrounding text would segment.
 */

/** Han code points (CJK unified ideographs, extension A, compatibility, extensions B–G). */
const HAN_RANGES: [number, number][] = [
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xf900, 0xfaff],
  [0x20000, 0x3134f],
];
/** CJK and full-width punctuation, and general punctuation (curly quotes, dashes, "…"). */
const PUNCTUATION_RANGES: [number, number][] = [
  [0x2010, 0x205e],
  [0x3000, 0x303f],
  [0xff01, 0xff0f],
  [0xff1a, 0xff20],
  [0xff3b, 0xff40],
  [0xff5b, 0xff65],
];

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
const jsClass = (ranges: [number, number][]) => ranges.map(([a, b]) => `\\u{${hex(a, 4)}}-\\u{${hex(b, 4)}}`).join("");
// Postgres' regular expressions: \uXXXX within the BMP, \UXXXXXXXX beyond it.
const sqlEscape = (n: number) => (n > 0xffff ? `\\U${hex(n, 8)}` : `\\u${hex(n, 4)}`);
const sqlClass = (ranges: [number, number][]) => ranges.map(([a, b]) => `${sqlEscape(a)}-${sqlEscape(b)}`).join("");

const HAN_RUN = new RegExp(`[${jsClass(HAN_RANGES)}]+`, "u");
const HAN_OR_OTHER = new RegExp(`[${jsClass(HAN_RANGES)}]+|[^${jsClass(HAN_RANGES)}]+`, "gu");

/**
 * The SQL expression a full-text column indexes instead of `column` itself: Han characters
 * spaced apart, CJK punctuation turned into spaces. Immutable, so it can define a generated column.
 */
export function spacedHanSql(column: string): string {
  const punctuation = `regexp_replace(${column}, '[${sqlClass(PUNCTUATION_RANGES)}]', ' ', 'g')`;
  return `regexp_replace(${punctuation}, '([${sqlClass(HAN_RANGES)}])', ' \\1 ', 'g')`;
}

const HAN_AT_END = new RegExp(`[${jsClass(HAN_RANGES)}]$`, "u");
const HAN_AT_START = new RegExp(`^[${jsClass(HAN_RANGES)}]`, "u");

const HAN_RUNS = new RegExp(`[${jsClass(HAN_RANGES)}]+`, "gu");

/** The runs of Han characters in `text`. */
export function hanRuns(text: string): string[] {
  return text.match(HAN_RUNS) ?? [];
}

export function hasHan(text: string): boolean {
  return HAN_RUN.test(text);
}

/** Whether text may be cut between `before` and `after` without splitting a word: next to a Han character it may. */
export function isHanBoundary(before: string, after: string): boolean {
  return HAN_AT_END.test(before) || HAN_AT_START.test(after);
}

const segmenter = new Intl.Segmenter("zh", { granularity: "word" });

/**
 * A run of letters and digits as words: unchanged when it has no Han character, else its Han runs
 * segmented into dictionary words and the rest (`Redis` in `在Redis中`) kept as words of their own.
 */
export function splitWord(run: string): string[] {
  if (!hasHan(run)) return [run];
  return (run.match(HAN_OR_OTHER) ?? []).flatMap((piece) =>
    hasHan(piece) ? Array.from(segmenter.segment(piece), (s) => s.segment) : [piece],
  );
}

/** `text` cut into its words, each with the punctuation and spaces after it: all of it, in order. */
export function segmentPieces(text: string): string[] {
  const pieces: string[] = [];
  for (const { segment, isWordLike } of segmenter.segment(text)) {
    if (!isWordLike && pieces.length > 0) pieces[pieces.length - 1] += segment;
    else pieces.push(segment);
  }
  return pieces;
}

/** The words of `text`: runs of letters and digits, Han runs segmented (`splitWord`). */
export function segmentWords(text: string): string[] {
  return (text.match(/[\p{L}\p{N}]+/gu) ?? []).flatMap(splitWord);
}

/**
 * A word as a tsquery operand over a column indexed through `spacedHanSql`: a Han word is the
 * phrase of its characters, any other word itself. `word` must hold only letters and digits, so
 * nothing in it can act as tsquery syntax.
 */
export function tsQueryOperand(word: string): string {
  return hasHan(word) ? Array.from(word).join(" <-> ") : word;
}

/**
 * A word as a `websearch_to_tsquery` / `phraseto_tsquery` input over a `spacedHanSql` column: a Han
 * word's characters spaced apart (a phrase once quoted), any other word itself.
 */
export function spacedWord(word: string): string {
  return hasHan(word) ? Array.from(word).join(" ") : word;
}
