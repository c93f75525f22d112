import { badInput } from "../platform/errors";
import { countTokens } from "../platform/models/text";
import { segmentPieces } from "../../common/segment";
import type { Block } from "./parse";

/**
 * Splits a document's blocks into chunks for retrieval. A heading always starts a new chunk (a
 * chunk never mixes two sections), blocks of a section are packed together up to the token budget,
 * and a section spanning several chunks repeats the end of one chunk at the start of the next (the
 * overlap), so a passage cut at a chunk boundary is still found whole in one of them.
 *
 * Output stays proportional to the input: every chunk repeats its heading path, so each heading is
 * cut to MAX_HEADING_CHARS, and a document that would make more than MAX_CHUNKS chunks is refused
 * (with the `field` given) as soon as it gets there.
 */

/** The longest heading a chunk repeats (Markdown has at most six levels of them). */
export const MAX_HEADING_CHARS = 100;
/** The most chunks one document may make: ~2.5M tokens at the default budget, more than 5 MB of text holds. */
export const MAX_CHUNKS = 10_000;

export interface Chunk {
  /** The headings the chunk sits under, outermost first, joined by " › ". */
  heading: string;
  content: string;
  tokenCount: number;
  /**
   * Where the chunk's text lies in the document's text (`documentText`): from `startAt` to before
   * `endAt`, in UTF-16 code units. Its content is that text with runs of whitespace changed.
   */
  startAt: number;
  endAt: number;
}

/** A document's text as its chunks' offsets count it: its blocks, headings too, a blank line apart. */
export const documentText = (blocks: Block[]) => blocks.map((b) => b.text).join(SEPARATOR);

export interface ChunkOptions {
  /** Largest chunk, in tokens (cl100k, as the models count them). */
  maxTokens: number;
  /** About how many tokens of a chunk's end open the next chunk of the same section. */
  overlapTokens: number;
}

export const DEFAULT_CHUNKING: ChunkOptions = { maxTokens: 300, overlapTokens: 50 };

const SEPARATOR = "\n\n";
/** Between the headings of a chunk's heading path. */
const HEADING_JOINER = " › ";
/** What a separator may cost, counted generously so a chunk never ends up over its budget. */
const SEPARATOR_TOKENS = 2;
/** Longer "words" (base64, hashes) are cut first: tokenising one huge run of letters is very slow. */
const MAX_WORD_CHARS = 100;

export function chunkBlocks(blocks: Block[], options: ChunkOptions = DEFAULT_CHUNKING, field = "content"): Chunk[] {
  const text = documentText(blocks);
  // Where each block starts in the document's text.
  const blockStarts: number[] = [];
  blocks.reduce((at, b) => (blockStarts.push(at), at + b.text.length + SEPARATOR.length), 0);
  // A document's one top-level heading, first thing in it, is its title rather than a section.
  const topLevel = blocks.filter((b) => b.kind === "heading" && b.depth === 1);
  const first = topLevel.length === 1 && blocks[0] === topLevel[0] ? 1 : 0;
  const chunks: Chunk[] = [];
  let headings: { depth: number; text: string }[] = [];
  let pieces: { text: string; tokens: number; startAt: number; endAt: number }[] = [];

  const size = () => pieces.reduce((sum, p) => sum + p.tokens, 0) + SEPARATOR_TOKENS * Math.max(0, pieces.length - 1);
  const emit = () => {
    if (pieces.length === 0) return;
    if (chunks.length === MAX_CHUNKS) throw badInput(field, `The document would make more than ${MAX_CHUNKS} chunks`);
    const content = pieces.map((p) => p.text).join(SEPARATOR);
    chunks.push({ heading: headings.map((h) => h.text).join(HEADING_JOINER), content, tokenCount: countTokens(content), startAt: pieces[0]!.startAt, endAt: pieces.at(-1)!.endAt });
  };

  for (let index = first; index < blocks.length; index++) {
    const block = blocks[index]!;
    if (block.kind === "heading") {
      emit();
      pieces = [];
      const text = block.text.length > MAX_HEADING_CHARS ? `${block.text.slice(0, MAX_HEADING_CHARS - 1).replace(/[\uD800-\uDBFF]$/, "")}…` : block.text;
      headings = [...headings.filter((h) => h.depth < block.depth), { depth: block.depth, text }];
      continue;
    }
    // Pieces leave room for the overlap that may have to open their chunk.
    let cursor = blockStarts[index]!;
    for (const pieceText of splitToBudget(block.text, options.maxTokens - options.overlapTokens)) {
      const place = locate(text, pieceText, cursor);
      cursor = place.endAt;
      const piece = { text: pieceText, tokens: countTokens(pieceText), ...place };
      if (pieces.length > 0 && size() + SEPARATOR_TOKENS + piece.tokens > options.maxTokens) {
        const overlap = tailOf(pieces.map((p) => p.text).join(SEPARATOR), options.overlapTokens);
        const endAt = pieces.at(-1)!.endAt;
        emit();
        const overlapTokens = overlap ? countTokens(overlap) : 0;
        pieces =
          overlap && overlapTokens + SEPARATOR_TOKENS + piece.tokens <= options.maxTokens
            ? [{ text: overlap, tokens: overlapTokens, startAt: locateEnding(text, overlap, endAt), endAt }]
            : [];
      }
      pieces.push(piece);
    }
  }
  emit();
  return chunks;
}

/**
 * A document's text again, from its chunks in order (Parley keeps no copy of a document's source):
 * each chunk that opens with the end of the one before (the overlap, always its first piece) has
 * that piece left out, and a section's headings are written before its first chunk as Markdown
 * headings. Their levels are not stored: the outermost is written `##`, as under Markdown's usual
 * `#` title, and each heading inside it one more. What chunking drops stays dropped: the document's
 * title heading, a heading with no text under it before the next, the length of a heading past
 * MAX_HEADING_CHARS, and the whitespace between the pieces of an overlong block. Chunks stored
 * before their offsets were (all 0) cannot show their overlap, so theirs stays in.
 */
export function textOfChunks(chunks: readonly Pick<Chunk, "heading" | "content" | "startAt" | "endAt">[]): string {
  const parts: string[] = [];
  let previous: { heading: string; endAt: number } | null = null;
  for (const chunk of chunks) {
    let content = chunk.content;
    if (previous && chunk.heading === previous.heading) {
      // Overlap text is sentences joined by spaces, so the first separator ends it.
      const overlapEnd = content.indexOf(SEPARATOR);
      if (chunk.startAt < previous.endAt && overlapEnd >= 0) content = content.slice(overlapEnd + SEPARATOR.length);
    } else if (chunk.heading !== "") {
      const path = chunk.heading.split(HEADING_JOINER);
      const before = previous?.heading.split(HEADING_JOINER) ?? [];
      const shared = path.findIndex((heading, depth) => heading !== before[depth]);
      // A new section under the same parents still writes its own heading.
      for (let depth = Math.min(shared < 0 ? path.length : shared, path.length - 1); depth < path.length; depth++) parts.push(`${"#".repeat(depth + 2)} ${path[depth]}`);
    }
    parts.push(content);
    previous = chunk;
  }
  return parts.join(SEPARATOR);
}

/**
 * Where `piece` lies in `text`, searching from `from`: a piece is cut from the text in order, only
 * its whitespace changed (runs joined or split), so its words are found one after another.
 */
function locate(text: string, piece: string, from: number): { startAt: number; endAt: number } {
  let startAt = -1;
  let endAt = from;
  for (const word of piece.split(/\s+/)) {
    const at = word ? text.indexOf(word, endAt) : -1;
    if (at < 0) continue;
    if (startAt < 0) startAt = at;
    endAt = at + word.length;
  }
  return { startAt: startAt < 0 ? from : startAt, endAt };
}

/** Where `tail`, the end of the text that ends at `endAt` (its whitespace changed), starts in `text`. */
function locateEnding(text: string, tail: string, endAt: number): number {
  let startAt = endAt;
  for (const word of tail.split(/\s+/).reverse()) {
    const at = word ? text.lastIndexOf(word, startAt - word.length) : -1;
    if (at >= 0) startAt = at;
  }
  return startAt;
}

/** After ". ! ? …" and a space, before what opens a sentence; or right after a Chinese sentence end. */
const SENTENCE_END = /(?<=[.!?…])\s+(?=[\p{Lu}\p{N}"“'‘(`*\[])|(?<=[。！？；])\s*(?=\S)/u;

/** The last whole sentences of `text` within `maxTokens` (or its last words when one sentence is longer). */
function tailOf(text: string, maxTokens: number): string {
  if (maxTokens <= 0) return "";
  const sentences = text.split(/\n+/).flatMap((line) => line.split(SENTENCE_END));
  const kept: string[] = [];
  let tokens = 0;
  for (let i = sentences.length - 1; i >= 0; i--) {
    const t = countTokens(sentences[i]!) + 1;
    if (tokens + t > maxTokens) break;
    kept.unshift(sentences[i]!);
    tokens += t;
  }
  if (kept.length > 0) return kept.join(" ").trim();
  const words = (sentences.at(-1) ?? "").split(/\s+/);
  return packWithin(words.reverse(), maxTokens, " ").at(0)?.split(" ").reverse().join(" ") ?? "";
}

/**
 * `text` as pieces of at most `maxTokens` each: whole when it fits, else split at line breaks, then
 * at sentence ends, then at spaces, then between (Chinese) words, each level only where the one
 * before was not enough.
 */
export function splitToBudget(text: string, maxTokens: number): string[] {
  const safe = text.replace(LONG_RUN, (run) => run.match(RUN_PIECE)!.join(" "));
  return splitAt(safe, maxTokens, 0);
}

const LONG_RUN = new RegExp(`\\S{${MAX_WORD_CHARS + 1},}`, "gu");
/** A long run's pieces end after Chinese punctuation where there is some (Chinese has no spaces). */
const RUN_PIECE = new RegExp(`.{1,${MAX_WORD_CHARS - 1}}[。！？；，、：]|.{1,${MAX_WORD_CHARS}}`, "gsu");

const LEVELS: { split: (text: string) => string[]; join: string }[] = [
  { split: (text) => text.split(/\n+/), join: "\n" },
  { split: (text) => text.split(SENTENCE_END), join: " " },
  { split: (text) => text.split(/\s+/), join: " " },
  // Chinese has no spaces: a sentence still over budget is cut between its words.
  { split: segmentPieces, join: "" },
];

function splitAt(text: string, maxTokens: number, level: number): string[] {
  // Cheap bound first: a text of this few bytes cannot be over budget (a token is at least one
  // byte; a Chinese character is three, and often more than one token).
  if (Buffer.byteLength(text) <= maxTokens || countTokens(text) <= maxTokens) return [text];
  const step = LEVELS[level];
  if (!step) return [text];
  const { split, join } = step;
  const units = split(text)
    .map((u) => u.trim())
    .filter(Boolean)
    .flatMap((u) => splitAt(u, maxTokens, level + 1));
  return packWithin(units, maxTokens, join);
}

/** Greedily joins consecutive units while the result stays within `maxTokens`. */
function packWithin(units: string[], maxTokens: number, join: string): string[] {
  const out: string[] = [];
  let current = "";
  let currentTokens = 0;
  for (const unit of units) {
    const tokens = countTokens(unit);
    if (current && currentTokens + tokens + 1 <= maxTokens) {
      current += join + unit;
      currentTokens += tokens + 1;
    } else {
      if (current) out.push(current);
      current = unit;
      currentTokens = tokens;
    }
  }
  if (current) out.push(current);
  return out;
}
